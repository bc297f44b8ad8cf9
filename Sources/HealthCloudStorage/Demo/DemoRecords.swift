import Foundation
import HealthCloudDomain

/// What the demo pipeline and the benchmark commands read and record: which steps of the
/// demo fill are done, and the lookups a step needs by name.
public struct DemoRecords: Sendable {
    let db: Repositories

    /// The detail recorded when the step completed, or nil if it has not run.
    public func completedStep(_ name: String) async throws -> String? {
        try await db.first("SELECT detail FROM demo_steps WHERE name = $1", [.text(name)]).map { try $0.string("detail") }
    }

    public func recordStep(_ name: String, detail: String, at time: Date) async throws {
        try await db.execute(
            "INSERT INTO demo_steps (name, completed_at, detail) VALUES ($1, $2, $3)",
            [.text(name), .text(Timestamp.iso8601(time)), .text(detail)]
        )
    }

    /// The campus of that name of the institution of that name.
    public func campusId(institution: String, campus: String) async throws -> Int? {
        try await db.first(
            "SELECT c.id FROM campuses c JOIN institutions i ON i.id = c.institution_id WHERE i.name = $1 AND c.name = $2",
            [.text(institution), .text(campus)]
        ).map { try $0.int("id") }
    }

    public func feverClinic(ofCampus campusId: Int) async throws -> Int? {
        try await db.first("SELECT id FROM sites WHERE campus_id = $1 AND kind = 'fever_clinic'", [.integer(Int64(campusId))])
            .map { try $0.int("id") }
    }

    public struct CampusProfile: Sendable {
        public var id: Int
        public var districtCode: String
        public var kind: InstitutionKind
        public var level: InstitutionLevel
        public var feverClinics: Int
        public var feverSentinels: Int
    }

    /// Every campus with what shapes its demo figures, by id.
    public func campusProfiles() async throws -> [CampusProfile] {
        try await db.query(
            """
            SELECT c.id, c.district_code, i.kind, i.level,
                   (SELECT COUNT(*) FROM sites s WHERE s.campus_id = c.id AND s.kind = 'fever_clinic') AS clinics,
                   (SELECT COUNT(*) FROM sites s WHERE s.campus_id = c.id AND s.kind = 'fever_sentinel') AS sentinels
            FROM campuses c JOIN institutions i ON i.id = c.institution_id ORDER BY c.id
            """,
            []
        ).map { row in
            CampusProfile(
                id: try row.int("id"),
                districtCode: try row.string("district_code"),
                kind: InstitutionKind(rawValue: try row.string("kind")) ?? .general,
                level: InstitutionLevel(rawValue: try row.string("level")) ?? .district,
                feverClinics: try row.int("clinics"),
                feverSentinels: try row.int("sentinels")
            )
        }
    }

    /// The campuses located in a district, newest first, but those of the named institutions.
    public func campusIds(inDistrict district: String, excludingInstitutions names: [String]) async throws -> [Int] {
        let placeholders = names.indices.map { "$\($0 + 2)" }.joined(separator: ", ")
        return try await db.query(
            """
            SELECT c.id FROM campuses c JOIN institutions i ON i.id = c.institution_id
            WHERE c.district_code = $1\(names.isEmpty ? "" : " AND i.name NOT IN (\(placeholders))") ORDER BY c.id DESC
            """,
            [.text(district)] + names.map { .text($0) }
        ).map { try $0.int("id") }
    }

    /// Raises a slot's capacity (the booking benchmark books thousands into one window).
    public func raiseCapacity(ofSlot slotId: Int, by count: Int) async throws {
        try await db.execute("UPDATE slots SET capacity = capacity + $1 WHERE id = $2", [.integer(Int64(count)), .integer(Int64(slotId))])
    }
}
