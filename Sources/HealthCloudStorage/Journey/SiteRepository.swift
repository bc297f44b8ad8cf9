import HealthCloudDomain

/// Fever clinics and sentinels as patients see them: where, when open, how full.
public struct SiteRepository: Sendable {
    let db: Repositories

    public struct SiteInfo: Sendable, Hashable {
        public var id: Int
        public var kind: SiteKind
        public var name: String
        public var campusId: Int
        public var campusName: String
        public var institutionName: String
        public var districtCode: String
        public var latitude: Double
        public var longitude: Double

        public var schedule: SiteSchedule { .standard(for: kind) }
    }

    static let siteColumns = """
        s.id, s.kind, s.name, s.campus_id, c.name AS campus_name, i.name AS institution_name, c.district_code, s.latitude, s.longitude
        FROM sites s JOIN campuses c ON c.id = s.campus_id JOIN institutions i ON i.id = c.institution_id
        """

    static func siteInfo(_ row: SQLRow) throws -> SiteInfo {
        guard let kind = SiteKind(rawValue: try row.string("kind")) else {
            throw DatabaseError.decoding(column: "kind", expected: "site kind", found: try row.string("kind"))
        }
        return SiteInfo(
            id: try row.int("id"),
            kind: kind,
            name: try row.string("name"),
            campusId: try row.int("campus_id"),
            campusName: try row.string("campus_name"),
            institutionName: try row.string("institution_name"),
            districtCode: try row.string("district_code"),
            latitude: try row.double("latitude"),
            longitude: try row.double("longitude")
        )
    }

    public func sites(kinds: Set<SiteKind>, districtCode: String?) async throws -> [SiteInfo] {
        var binds: [SQLValue] = []
        var predicates: [String] = []
        if kinds.count == 1, let kind = kinds.first {
            binds.append(.text(kind.rawValue))
            predicates.append("s.kind = $\(binds.count)")
        }
        if let districtCode {
            binds.append(.text(districtCode))
            predicates.append("c.district_code = $\(binds.count)")
        }
        let filter = predicates.isEmpty ? "" : " WHERE " + predicates.joined(separator: " AND ")
        return try await db.query("SELECT \(Self.siteColumns)\(filter) ORDER BY s.id", binds).map(Self.siteInfo)
    }

    public func site(id: Int) async throws -> SiteInfo? {
        try await db.first("SELECT \(Self.siteColumns) WHERE s.id = $1", [.integer(Int64(id))]).map(Self.siteInfo)
    }

    public struct Slot: Sendable, Hashable {
        public var id: Int
        public var siteId: Int
        public var date: Day
        public var startsAt: Int64
        public var endsAt: Int64
        public var capacity: Int
        public var booked: Int
        public var start: String
        public var end: String
    }

    /// The site's slots of `day`, made from its schedule the first time anyone asks (two
    /// concurrent first asks insert each window once: the second insert does nothing).
    public func slots(of site: SiteInfo, on day: Day) async throws -> [Slot] {
        let windows = site.schedule.windows(on: day)
        let labels = Dictionary(uniqueKeysWithValues: windows.map { ($0.startsAt, ($0.start, $0.end)) })
        var rows = try await slotRows(siteId: site.id, day: day)
        if rows.count < windows.count {
            try await db.write { db in
                for window in windows {
                    try await db.execute(
                        """
                        INSERT INTO slots (site_id, date, starts_at, ends_at, capacity, booked) VALUES ($1, $2, $3, $4, $5, 0)
                        ON CONFLICT (site_id, starts_at) DO NOTHING
                        """,
                        [
                            .integer(Int64(site.id)), .text(day.description), .integer(window.startsAt), .integer(window.endsAt),
                            .integer(Int64(window.capacity)),
                        ]
                    )
                }
            }
            rows = try await slotRows(siteId: site.id, day: day)
        }
        return try rows.map { row in
            let startsAt = try row.int64("starts_at")
            let label = labels[startsAt] ?? ("", "")
            return Slot(
                id: try row.int("id"),
                siteId: site.id,
                date: day,
                startsAt: startsAt,
                endsAt: try row.int64("ends_at"),
                capacity: try row.int("capacity"),
                booked: try row.int("booked"),
                start: label.0,
                end: label.1
            )
        }
    }

    private func slotRows(siteId: Int, day: Day) async throws -> [SQLRow] {
        try await db.query(
            "SELECT id, starts_at, ends_at, capacity, booked FROM slots WHERE site_id = $1 AND date = $2 ORDER BY starts_at",
            [.integer(Int64(siteId)), .text(day.description)]
        )
    }

    /// Places still free today at each site: the capacity of the windows not yet over, less
    /// what is booked in them (windows nobody asked for yet are wholly free).
    public func freePlaces(of sites: [SiteInfo], on day: Day, now: Int64) async throws -> [Int: Int] {
        var booked: [Int: [Int64: Int]] = [:]
        for row in try await db.query(
            "SELECT site_id, starts_at, booked FROM slots WHERE date = $1 AND ends_at > $2 AND booked > 0",
            [.text(day.description), .integer(now)]
        ) {
            booked[try row.int("site_id"), default: [:]][try row.int64("starts_at")] = try row.int("booked")
        }
        var free: [Int: Int] = [:]
        var windowsByKind: [SiteKind: [SiteSchedule.Window]] = [:]
        for site in sites {
            let windows = windowsByKind[site.kind] ?? site.schedule.windows(on: day)
            windowsByKind[site.kind] = windows
            free[site.id] = windows.filter { $0.endsAt > now }.reduce(0) { total, window in
                total + max(0, window.capacity - (booked[site.id]?[window.startsAt] ?? 0))
            }
        }
        return free
    }

    public struct FeverFigures: Sendable, Hashable {
        public var date: Day
        public var waitingPatients: Int?
        public var avgWaitMinutes: Int?
    }

    /// Each campus's fever-clinic queue from its latest report of the last week.
    public func latestFeverFigures(onOrBefore day: Day) async throws -> [Int: FeverFigures] {
        var latest: [Int: FeverFigures] = [:]
        for row in try await db.query(
            """
            SELECT campus_id, report_date, \(ReportColumns.column(for: "feverClinic.waitingPatients")) AS waiting,
                   \(ReportColumns.column(for: "feverClinic.avgWaitMinutes")) AS wait
            FROM reports WHERE report_date >= $1 AND report_date <= $2
            """,
            [.text((day - 7).description), .text(day.description)]
        ) {
            guard let date = Day(try row.string("report_date")) else { continue }
            let campus = try row.int("campus_id")
            if let known = latest[campus], known.date >= date { continue }
            latest[campus] = FeverFigures(date: date, waitingPatients: try row.optionalInt("waiting"), avgWaitMinutes: try row.optionalInt("wait"))
        }
        return latest
    }
}
