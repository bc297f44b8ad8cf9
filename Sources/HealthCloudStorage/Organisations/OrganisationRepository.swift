import HealthCloudDomain

/// Reads of the organisation hierarchy, as the HTTP layer needs them.
public protocol OrganisationReading: Sendable {
    func districtSummaries() async throws -> [DistrictSummary]
    func district(code: String) async throws -> District?
    /// Institutions, all or of one district, ordered by id.
    func institutions(districtCode: String?) async throws -> [Institution]
    func campus(id: Int) async throws -> Campus?
}

/// Writes of the organisation hierarchy (demo data now; the admin console later).
public protocol OrganisationWriting: Sendable {
    func upsert(districts: [District]) async throws
    /// Inserts an institution with its campuses and their sites in one transaction; returns the ids.
    func insert(_ institution: NewInstitution) async throws -> (institutionId: Int, campusIds: [Int])
    func counts() async throws -> OrganisationCounts
}

public struct NewInstitution: Sendable {
    public struct NewCampus: Sendable {
        public var name: String
        public var districtCode: String
        public var latitude: Double
        public var longitude: Double
        public var sites: [NewSite]

        public init(name: String, districtCode: String, latitude: Double, longitude: Double, sites: [NewSite]) {
            self.name = name
            self.districtCode = districtCode
            self.latitude = latitude
            self.longitude = longitude
            self.sites = sites
        }
    }

    public struct NewSite: Sendable {
        public var kind: SiteKind
        public var name: String
        public var latitude: Double
        public var longitude: Double

        public init(kind: SiteKind, name: String, latitude: Double, longitude: Double) {
            self.kind = kind
            self.name = name
            self.latitude = latitude
            self.longitude = longitude
        }
    }

    public var name: String
    public var level: InstitutionLevel
    public var kind: InstitutionKind
    public var districtCode: String
    public var campuses: [NewCampus]

    public init(name: String, level: InstitutionLevel, kind: InstitutionKind, districtCode: String, campuses: [NewCampus]) {
        self.name = name
        self.level = level
        self.kind = kind
        self.districtCode = districtCode
        self.campuses = campuses
    }
}

public struct OrganisationCounts: Sendable, Equatable {
    public var districts: Int
    public var institutions: Int
    public var municipalCampuses: Int
    public var districtCampuses: Int
    public var feverClinics: Int
    public var feverSentinels: Int
}

public struct SQLOrganisationRepository: OrganisationReading, OrganisationWriting {
    let db: Repositories

    public func districtSummaries() async throws -> [DistrictSummary] {
        let rows = try await db.query(
            """
            SELECT d.code, d.name, d.name_en, d.population,
                   (SELECT COUNT(*) FROM institutions i WHERE i.district_code = d.code) AS institution_count,
                   (SELECT COUNT(*) FROM campuses c WHERE c.district_code = d.code) AS campus_count
            FROM districts d
            ORDER BY d.code
            """,
            []
        )
        return try rows.map { row in
            DistrictSummary(
                district: try Self.district(row),
                institutionCount: try row.int("institution_count"),
                campusCount: try row.int("campus_count")
            )
        }
    }

    public func district(code: String) async throws -> District? {
        try await db.query("SELECT code, name, name_en, population FROM districts WHERE code = $1", [.text(code)])
            .first.map(Self.district)
    }

    public func institutions(districtCode: String?) async throws -> [Institution] {
        try await db.read { db in
            let filter = districtCode == nil ? "" : "WHERE i.district_code = $1"
            let binds: [SQLValue] = districtCode.map { [.text($0)] } ?? []
            let institutionRows = try await db.query(
                "SELECT i.id, i.name, i.level, i.kind, i.district_code FROM institutions i \(filter) ORDER BY i.id",
                binds
            )
            let campusRows = try await db.query(
                "SELECT c.id, c.institution_id FROM campuses c JOIN institutions i ON i.id = c.institution_id \(filter) ORDER BY c.id",
                binds
            )
            var campusIds: [Int: [Int]] = [:]
            for row in campusRows {
                campusIds[try row.int("institution_id"), default: []].append(try row.int("id"))
            }
            return try institutionRows.map { row in
                let id = try row.int("id")
                return Institution(
                    id: id,
                    name: try row.string("name"),
                    level: try Self.enumValue(InstitutionLevel.self, row, "level"),
                    kind: try Self.enumValue(InstitutionKind.self, row, "kind"),
                    districtCode: try row.string("district_code"),
                    campusIds: campusIds[id] ?? []
                )
            }
        }
    }

    public func campus(id: Int) async throws -> Campus? {
        try await db.read { db in
            guard
                let row = try await db.first(
                    """
                    SELECT c.id, c.institution_id, i.name AS institution_name, c.name, c.district_code,
                           i.level, i.kind, c.latitude, c.longitude
                    FROM campuses c JOIN institutions i ON i.id = c.institution_id
                    WHERE c.id = $1
                    """,
                    [.integer(Int64(id))]
                )
            else { return nil }
            let sites = try await db.query(
                "SELECT id, kind, name, latitude, longitude FROM sites WHERE campus_id = $1 ORDER BY id",
                [.integer(Int64(id))]
            ).map { site in
                Site(
                    id: try site.int("id"),
                    kind: try Self.enumValue(SiteKind.self, site, "kind"),
                    name: try site.string("name"),
                    latitude: try site.double("latitude"),
                    longitude: try site.double("longitude")
                )
            }
            return Campus(
                id: try row.int("id"),
                institutionId: try row.int("institution_id"),
                institutionName: try row.string("institution_name"),
                name: try row.string("name"),
                districtCode: try row.string("district_code"),
                level: try Self.enumValue(InstitutionLevel.self, row, "level"),
                kind: try Self.enumValue(InstitutionKind.self, row, "kind"),
                latitude: try row.double("latitude"),
                longitude: try row.double("longitude"),
                sites: sites
            )
        }
    }

    /// Where a scope sits in the hierarchy (campus → institution → district), for scope
    /// checks; nil when the scope names nothing that exists.
    public func scopePath(of scope: Scope) async throws -> ScopePath? {
        switch scope {
        case .city:
            return .city
        case .district(let code):
            return try await db.first("SELECT code FROM districts WHERE code = $1", [.text(code)]).map { _ in ScopePath(districtCode: code) }
        case .institution(let id):
            return try await db.first("SELECT district_code FROM institutions WHERE id = $1", [.integer(Int64(id))])
                .map { ScopePath(districtCode: try $0.string("district_code"), institutionId: id) }
        case .campus(let id):
            return try await db.first("SELECT district_code, institution_id FROM campuses WHERE id = $1", [.integer(Int64(id))])
                .map { ScopePath(districtCode: try $0.string("district_code"), institutionId: try $0.int("institution_id"), campusId: id) }
        case .site(let id):
            return try await db.first(
                """
                SELECT c.district_code, c.institution_id, c.id AS campus_id FROM sites s JOIN campuses c ON c.id = s.campus_id WHERE s.id = $1
                """,
                [.integer(Int64(id))]
            )
            .map {
                ScopePath(
                    districtCode: try $0.string("district_code"),
                    institutionId: try $0.int("institution_id"),
                    campusId: try $0.int("campus_id"),
                    siteId: id
                )
            }
        case .patient(let id):
            return ScopePath(patientId: id)
        }
    }

    public func upsert(districts: [District]) async throws {
        defer { db.caches.organisationsChanged() }
        try await db.write { db in
            try await db.organisations.announceChange()
            for district in districts {
                try await db.execute(
                    """
                    INSERT INTO districts (code, name, name_en, population) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, population = excluded.population
                    """,
                    [.text(district.code), .text(district.name), .text(district.nameEn), .integer(Int64(district.population))]
                )
            }
        }
    }

    public func insert(_ institution: NewInstitution) async throws -> (institutionId: Int, campusIds: [Int]) {
        defer { db.caches.organisationsChanged() }
        return try await db.write { db in
            try await db.organisations.announceChange()
            guard
                let row = try await db.first(
                    "INSERT INTO institutions (name, level, kind, district_code) VALUES ($1, $2, $3, $4) RETURNING id",
                    [.text(institution.name), .text(institution.level.rawValue), .text(institution.kind.rawValue), .text(institution.districtCode)]
                )
            else { throw DatabaseError.engine("INSERT … RETURNING gave no row") }
            let institutionId = try row.int("id")
            var campusIds: [Int] = []
            for campus in institution.campuses {
                guard
                    let campusRow = try await db.first(
                        """
                        INSERT INTO campuses (institution_id, name, district_code, latitude, longitude)
                        VALUES ($1, $2, $3, $4, $5) RETURNING id
                        """,
                        [
                            .integer(Int64(institutionId)), .text(campus.name), .text(campus.districtCode), .real(campus.latitude),
                            .real(campus.longitude),
                        ]
                    )
                else { throw DatabaseError.engine("INSERT … RETURNING gave no row") }
                let campusId = try campusRow.int("id")
                campusIds.append(campusId)
                for site in campus.sites {
                    try await db.execute(
                        "INSERT INTO sites (campus_id, kind, name, latitude, longitude) VALUES ($1, $2, $3, $4, $5)",
                        [.integer(Int64(campusId)), .text(site.kind.rawValue), .text(site.name), .real(site.latitude), .real(site.longitude)]
                    )
                }
            }
            return (institutionId, campusIds)
        }
    }

    static let changeChannel = "healthcloud_organisations"

    /// On PostgreSQL, tells every instance at commit that organisations changed (their scope
    /// directories and campus maps reload).
    private func announceChange() async throws {
        guard db.dialect == .postgresql else { return }
        try await db.execute("SELECT pg_notify('\(Self.changeChannel)', '')")
    }

    /// On PostgreSQL, calls `onChange` after every committed change of organisations, on any
    /// instance, until cancelled (it holds one pooled connection). Returns at once on SQLite
    /// (one process: its own writes invalidate what it keeps).
    public func listenForChanges(_ onChange: @escaping @Sendable () async -> Void) async throws {
        try await db.listen(on: Self.changeChannel, onChange)
    }

    public func counts() async throws -> OrganisationCounts {
        try await db.read { db in
            OrganisationCounts(
                districts: try await db.scalarInt("SELECT COUNT(*) FROM districts"),
                institutions: try await db.scalarInt("SELECT COUNT(*) FROM institutions"),
                municipalCampuses: try await db.scalarInt(
                    "SELECT COUNT(*) FROM campuses c JOIN institutions i ON i.id = c.institution_id WHERE i.level = 'municipal'"
                ),
                districtCampuses: try await db.scalarInt(
                    "SELECT COUNT(*) FROM campuses c JOIN institutions i ON i.id = c.institution_id WHERE i.level = 'district'"
                ),
                feverClinics: try await db.scalarInt("SELECT COUNT(*) FROM sites WHERE kind = 'fever_clinic'"),
                feverSentinels: try await db.scalarInt("SELECT COUNT(*) FROM sites WHERE kind = 'fever_sentinel'")
            )
        }
    }

    private static func district(_ row: SQLRow) throws -> District {
        District(
            code: try row.string("code"),
            name: try row.string("name"),
            nameEn: try row.string("name_en"),
            population: try row.int("population")
        )
    }

    private static func enumValue<E: RawRepresentable>(_ type: E.Type, _ row: SQLRow, _ column: String) throws -> E
    where E.RawValue == String {
        let raw = try row.string(column)
        guard let value = E(rawValue: raw) else {
            throw DatabaseError.decoding(column: column, expected: "\(E.self)", found: raw)
        }
        return value
    }
}
