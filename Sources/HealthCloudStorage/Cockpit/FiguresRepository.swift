import Foundation
import HealthCloudDomain

/// Daily figures of every scope. A campus's figures are its current report; district and
/// city figures are rollups (`rollups`), rewritten in the transaction that changes a report,
/// so cockpit reads never add up raw reports.
public struct FiguresRepository: Sendable {
    let db: Repositories

    static let countColumns = ReportColumns.all.map(\.column).joined(separator: ", ")

    // MARK: Maintenance (inside the writing transaction)

    /// Recomputes the district and city rollups of `dates` from the current reports.
    /// One read of the days' reports; the sums are made here (stock lists are JSON).
    func refreshRollups(dates: Set<Day>) async throws {
        try await refreshRollups(districtsOn: Dictionary(uniqueKeysWithValues: dates.map { ($0, nil) }))
    }

    /// Recomputes the rollups of the districts whose campuses changed on each day (nil: every
    /// district) and the city's of those days: the changed districts from their campuses'
    /// current reports, the city from its districts' rollups — so one campus's correction reads
    /// its district's reports, not the city's.
    func refreshRollups(districtsOn changes: [Day: Set<String>?]) async throws {
        guard !changes.isEmpty else { return }
        try await db.write { db in
            // Two PostgreSQL transactions refreshing the same district would each sum without the
            // other's report (read committed) and the later one would win: they take turns.
            // SQLite's single writer already serializes them.
            try await db.figures.serialize(lock: .rollups)
            let everyDistrict = changes.filter { $0.value == nil }.keys.sorted()
            var some: [Set<String>: [Day]] = [:]
            for (day, districts) in changes { if let districts { some[districts, default: []].append(day) } }
            var work: [(days: [Day], districts: Set<String>?)] = []
            var start = 0
            while start < everyDistrict.count {
                work.append((Array(everyDistrict[start..<min(everyDistrict.count, start + 60)]), nil))
                start += 60
            }
            for (districts, days) in some { work.append((days.sorted(), districts)) }
            for (chunk, districts) in work {
                var binds: [SQLValue] = chunk.map { .text($0.description) }
                let days = chunk.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
                var districtFilter = ""
                if let districts {
                    districtFilter = " AND c.district_code IN (\((0..<districts.count).map { "$\(binds.count + $0 + 1)" }.joined(separator: ", ")))"
                    binds += districts.sorted().map { .text($0) }
                }
                let rows = try await db.query(
                    """
                    SELECT c.district_code, r.report_date, \(Self.countColumns), r.drugs, r.materials
                    FROM reports r JOIN campuses c ON c.id = r.campus_id WHERE r.report_date IN (\(days))\(districtFilter)
                    """,
                    binds
                )
                var byDistrict: [String: [String: [DayFigures]]] = [:]  // date → district → campuses
                for row in rows {
                    let figures = DayFigures(report: try ReportRepository.report(row))
                    byDistrict[try row.string("report_date"), default: [:]][try row.string("district_code"), default: []].append(figures)
                }
                // The districts not recomputed keep their rollups: the city adds them as they are.
                var unchanged: [String: [String: DayFigures]] = [:]
                if let districts {
                    for row in try await db.query(
                        """
                        SELECT scope, report_date, campuses_reported, \(Self.countColumns), stock FROM rollups
                        WHERE parent = 'city' AND report_date IN (\(days))
                        """,
                        chunk.map { .text($0.description) }
                    ) {
                        guard case .district(let code)? = Scope(try row.string("scope")), !districts.contains(code) else { continue }
                        unchanged[try row.string("report_date"), default: [:]][code] = try Self.figures(row, rollup: true)
                    }
                }
                var upserts: [(scope: String, date: String, parent: String, figures: DayFigures)] = []
                for (date, recomputed) in byDistrict {
                    var districtFigures = Array((unchanged[date] ?? [:]).values)
                    for (code, campuses) in recomputed {
                        let combined = DayFigures.combine(campuses)
                        districtFigures.append(combined)
                        upserts.append((Scope.district(code).description, date, "city", combined))
                    }
                    upserts.append(("city", date, "", DayFigures.combine(districtFigures)))
                }
                try await db.figures.upsert(upserts)
            }
        }
    }

    private func upsert(_ rows: [(scope: String, date: String, parent: String, figures: DayFigures)]) async throws {
        let columns = "scope, report_date, parent, campuses_reported, \(Self.countColumns), stock"
        let width = 5 + ReportColumns.all.count
        let updates = columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0 != "scope" && $0 != "report_date" }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        let chunkSize = max(1, 8_000 / width)
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + chunkSize)]
            start += chunk.count
            var binds: [SQLValue] = []
            var tuples: [String] = []
            for row in chunk {
                let base = binds.count
                tuples.append("(" + (1...width).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
                binds += [.text(row.scope), .text(row.date), .text(row.parent), .integer(Int64(row.figures.campusesReported))]
                for column in ReportColumns.all { binds.append(SQLValue(row.figures.counts[column.field].map(Int64.init), SQLValue.integer)) }
                binds.append(.text(try Self.encodeStock(row.figures.stock)))
            }
            try await db.execute(
                """
                INSERT INTO rollups (\(columns)) VALUES \(tuples.joined(separator: ", "))
                ON CONFLICT (scope, report_date) DO UPDATE SET \(updates)
                """,
                binds
            )
        }
    }

    /// `{"drug":{"CODE":[stock,consumed]},"material":{…}}` — compact and order-stable.
    static func encodeStock(_ stock: [CatalogKind: [String: StockTotal]]) throws -> String {
        var object: [String: [String: [Int]]] = [:]
        for (kind, items) in stock { object[kind.rawValue] = items.mapValues { [$0.stock, $0.consumed] } }
        return String(decoding: try ReportRepository.canonicalEncoder.encode(object), as: UTF8.self)
    }

    static func decodeStock(_ text: String) throws -> [CatalogKind: [String: StockTotal]] {
        let object = try JSONDecoder().decode([String: [String: [Int]]].self, from: Data(text.utf8))
        var stock: [CatalogKind: [String: StockTotal]] = [:]
        for (kind, items) in object {
            guard let kind = CatalogKind(rawValue: kind) else { continue }
            stock[kind] = items.compactMapValues { $0.count == 2 ? StockTotal(stock: $0[0], consumed: $0[1]) : nil }
        }
        return stock
    }

    /// Rebuilds every rollup from the reports, when rollups are missing (a database filled
    /// before rollups existed). Returns the number of days rebuilt.
    public func rebuildIfMissing() async throws -> Int {
        let rollups = try await db.scalarInt("SELECT COUNT(*) FROM rollups")
        guard rollups == 0 else { return 0 }
        let dates = try await db.query("SELECT DISTINCT report_date FROM reports").compactMap { Day(try $0.string("report_date")) }
        guard !dates.isEmpty else { return 0 }
        try await db.write { db in try await db.figures.refreshRollups(dates: Set(dates)) }
        return dates.count
    }

    /// Transaction-scoped locks that serialize maintenance writers across instances.
    enum MaintenanceLock: Int64 {
        case rollups = 7_243_001
        case warnings = 7_243_002
    }

    func serialize(lock: MaintenanceLock) async throws {
        if db.dialect == .postgresql {
            try await db.execute("SELECT pg_advisory_xact_lock($1)", [.integer(lock.rawValue)])
        }
    }

    // MARK: Reading

    /// A campus row's figures with the stock lists of `kinds` only (decoding them is the
    /// costly part of reading reports).
    static func campusFigures(_ row: SQLRow, stockKinds: Set<CatalogKind>) throws -> DayFigures {
        var figures = DayFigures()
        for column in ReportColumns.all {
            if let value = try row.optionalInt(column.column) { figures.counts[column.field] = value }
        }
        for kind in stockKinds {
            guard let text = try row.optionalString(kind == .drug ? "drugs" : "materials") else { continue }
            var items: [String: StockTotal] = [:]
            for line in try JSONDecoder().decode([StockLine].self, from: Data(text.utf8)) {
                items[line.code, default: StockTotal()].add(stock: line.stock, consumed: line.consumed)
            }
            figures.stock[kind] = items
        }
        return figures
    }

    static func figures(_ row: SQLRow, rollup: Bool) throws -> DayFigures {
        if rollup {
            var figures = DayFigures(campusesReported: try row.int("campuses_reported"))
            for column in ReportColumns.all {
                if let value = try row.optionalInt(column.column) { figures.counts[column.field] = value }
            }
            figures.stock = try decodeStock(try row.string("stock"))
            return figures
        }
        return DayFigures(report: try ReportRepository.report(row))
    }

    /// The figures of one scope (city, district or campus) between two days, inclusive.
    public func figures(of scope: Scope, from: Day, to: Day) async throws -> [Day: DayFigures] {
        let range: [SQLValue] = [.text(from.description), .text(to.description)]
        let rows: [SQLRow]
        let rollup: Bool
        switch scope {
        case .campus(let id):
            rollup = false
            rows = try await db.query(
                """
                SELECT report_date, \(Self.countColumns), drugs, materials FROM reports
                WHERE campus_id = $3 AND report_date >= $1 AND report_date <= $2
                """,
                range + [.integer(Int64(id))]
            )
        case .city, .district:
            rollup = true
            rows = try await db.query(
                """
                SELECT report_date, campuses_reported, \(Self.countColumns), stock FROM rollups
                WHERE scope = $3 AND report_date >= $1 AND report_date <= $2
                """,
                range + [.text(scope.description)]
            )
        default:
            return [:]
        }
        var result: [Day: DayFigures] = [:]
        for row in rows {
            guard let day = Day(try row.string("report_date")) else { continue }
            result[day] = try Self.figures(row, rollup: rollup)
        }
        return result
    }

    /// The scopes one level below `scope` (districts of the city, campuses of a district),
    /// or every campus under `scope` when `campuses` is set, with their figures between two
    /// days. Scopes without any report in the range are listed with no figures.
    /// `stockKinds`: the stock lists campus rows need (a ranking by ICU occupancy needs none).
    public func children(
        of scope: Scope,
        campuses: Bool = false,
        from: Day,
        to: Day,
        stockKinds: Set<CatalogKind> = Set(CatalogKind.allCases)
    ) async throws -> [(scope: Scope, name: String, figures: [Day: DayFigures])] {
        let range: [SQLValue] = [.text(from.description), .text(to.description)]
        var names: [Scope: String] = [:]
        var figures: [Scope: [Day: DayFigures]] = [:]
        func collect(_ rows: [SQLRow], key: (SQLRow) throws -> Scope, rollup: Bool) throws {
            for row in rows {
                guard let day = Day(try row.string("report_date")) else { continue }
                figures[try key(row), default: [:]][day] =
                    rollup ? try Self.figures(row, rollup: true) : try Self.campusFigures(row, stockKinds: stockKinds)
            }
        }
        switch (scope, campuses) {
        case (.city, false):
            for row in try await db.query("SELECT code, name FROM districts") {
                names[.district(try row.string("code"))] = try row.string("name")
            }
            try collect(
                try await db.query(
                    """
                    SELECT scope, report_date, campuses_reported, \(Self.countColumns), stock FROM rollups
                    WHERE parent = 'city' AND report_date >= $1 AND report_date <= $2
                    """,
                    range
                ),
                key: { Scope(try $0.string("scope")) ?? .city },
                rollup: true
            )
        case (.city, true), (.district, _):
            var filter = ""
            var binds = range
            var nameFilter = ""
            var nameBinds: [SQLValue] = []
            if case .district(let code) = scope {
                filter = "AND c.district_code = $3"
                binds.append(.text(code))
                nameFilter = "WHERE c.district_code = $1"
                nameBinds = [.text(code)]
            }
            for row in try await db.query(
                """
                SELECT c.id, i.name AS institution, c.name FROM campuses c JOIN institutions i ON i.id = c.institution_id \(nameFilter)
                """,
                nameBinds
            ) {
                names[.campus(try row.int("id"))] = Self.campusName(institution: try row.string("institution"), campus: try row.string("name"))
            }
            try collect(
                try await db.query(
                    """
                    SELECT r.campus_id, r.report_date, \(ReportColumns.all.map { "r.\($0.column)" }.joined(separator: ", ")), r.drugs, r.materials
                    FROM reports r JOIN campuses c ON c.id = r.campus_id
                    WHERE r.report_date >= $1 AND r.report_date <= $2 \(filter)
                    """,
                    binds
                ),
                key: { .campus(try $0.int("campus_id")) },
                rollup: false
            )
        default:
            return []
        }
        return names.map { (scope: $0.key, name: $0.value, figures: figures[$0.key] ?? [:]) }.sorted { $0.scope < $1.scope }
    }

    /// How many campuses report under a scope (the denominator of reporting completeness).
    public func campusCount(under scope: Scope) async throws -> Int {
        switch scope {
        case .city: try await db.scalarInt("SELECT COUNT(*) FROM campuses")
        case .district(let code): try await db.scalarInt("SELECT COUNT(*) FROM campuses WHERE district_code = $1", [.text(code)])
        case .campus: 1
        default: 0
        }
    }

    /// The newest day with figures for the scope on or before `day`.
    public func latestDay(of scope: Scope, onOrBefore day: Day) async throws -> Day? {
        let row: SQLRow?
        switch scope {
        case .campus(let id):
            row = try await db.first(
                "SELECT MAX(report_date) AS d FROM reports WHERE campus_id = $1 AND report_date <= $2",
                [.integer(Int64(id)), .text(day.description)]
            )
        default:
            row = try await db.first(
                "SELECT MAX(report_date) AS d FROM rollups WHERE scope = $1 AND report_date <= $2",
                [.text(scope.description), .text(day.description)]
            )
        }
        return try row?.optionalString("d").flatMap(Day.init)
    }

    static func campusName(institution: String, campus: String) -> String {
        campus == institution || campus.isEmpty ? institution : "\(institution)（\(campus)）"
    }

    /// The display name of a scope.
    public func name(of scope: Scope) async throws -> String? {
        switch scope {
        case .city: return "上海市"
        case .district(let code):
            return try await db.first("SELECT name FROM districts WHERE code = $1", [.text(code)]).map { try $0.string("name") }
        case .campus(let id):
            return try await db.first(
                """
                SELECT i.name AS institution, c.name FROM campuses c JOIN institutions i ON i.id = c.institution_id WHERE c.id = $1
                """,
                [.integer(Int64(id))]
            ).map { Self.campusName(institution: try $0.string("institution"), campus: try $0.string("name")) }
        default: return nil
        }
    }
}
