import HealthCloudDomain

/// Completeness, timeliness and open findings for a scope (DHIS2's data-set reports): what
/// each level sees of its own campuses' reporting.
public struct QualityQueries: Sendable {
    let db: Repositories

    public struct MissingCampus: Sendable, Codable, Equatable {
        public var campusId: Int
        public var institution: String
        public var campus: String
    }

    public struct Summary: Sendable, Codable, Equatable {
        public var scope: String
        public var date: Day
        /// Campuses in the scope that must report.
        public var expected: Int
        public var received: Int
        public var onTime: Int
        /// Campuses whose every submission for the day was rejected (nothing accepted yet).
        public var withErrors: Int
        public var withWarnings: Int
        public var completenessRate: Double
        public var timelinessRate: Double
        /// The campuses still missing (at most 200, by id).
        public var missing: [MissingCampus]
        public var missingTruncated: Bool
    }

    /// `c` is the campus alias; the filter's binds start at `$firstBind`.
    static func filter(_ scope: Scope, firstBind: Int) -> (sql: String, binds: [SQLValue]) {
        switch scope {
        case .city: ("1 = 1", [])
        case .district(let code): ("c.district_code = $\(firstBind)", [.text(code)])
        case .institution(let id): ("c.institution_id = $\(firstBind)", [.integer(Int64(id))])
        case .campus(let id): ("c.id = $\(firstBind)", [.integer(Int64(id))])
        case .site(let id): ("c.id = (SELECT campus_id FROM sites WHERE id = $\(firstBind))", [.integer(Int64(id))])
        case .patient: ("1 = 0", [])
        }
    }

    public func summary(scope: Scope, date: Day) async throws -> Summary {
        try await db.read { db in
            let (where1, binds1) = Self.filter(scope, firstBind: 1)
            let expected = try await db.scalarInt("SELECT COUNT(*) FROM campuses c WHERE \(where1)", binds1)
            let (where2, binds2) = Self.filter(scope, firstBind: 2)
            let counts = try await db.first(
                """
                SELECT COUNT(*) AS received,
                       COALESCE(SUM(CASE WHEN r.late = 0 THEN 1 ELSE 0 END), 0) AS on_time,
                       COALESCE(SUM(CASE WHEN r.warnings > 0 THEN 1 ELSE 0 END), 0) AS with_warnings
                FROM reports r JOIN campuses c ON c.id = r.campus_id
                WHERE r.report_date = $1 AND \(where2)
                """,
                [.text(date.description)] + binds2
            )
            let withErrors = try await db.scalarInt(
                """
                SELECT COUNT(DISTINCT j.campus_id) FROM report_rejections j JOIN campuses c ON c.id = j.campus_id
                WHERE j.report_date = $1 AND \(where2)
                  AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.campus_id = j.campus_id AND r.report_date = j.report_date)
                """,
                [.text(date.description)] + binds2
            )
            let missing = try await db.query(
                """
                SELECT c.id, i.name AS institution, c.name FROM campuses c JOIN institutions i ON i.id = c.institution_id
                WHERE \(where2) AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.campus_id = c.id AND r.report_date = $1)
                ORDER BY c.id LIMIT 201
                """,
                [.text(date.description)] + binds2
            ).map {
                MissingCampus(campusId: try $0.int("id"), institution: try $0.string("institution"), campus: try $0.string("name"))
            }
            let received = try counts?.int("received") ?? 0
            let onTime = try counts?.int("on_time") ?? 0
            return Summary(
                scope: scope.description,
                date: date,
                expected: expected,
                received: received,
                onTime: onTime,
                withErrors: withErrors,
                withWarnings: try counts?.int("with_warnings") ?? 0,
                completenessRate: expected == 0 ? 0 : Self.round(Double(received) / Double(expected)),
                timelinessRate: expected == 0 ? 0 : Self.round(Double(onTime) / Double(expected)),
                missing: Array(missing.prefix(200)),
                missingTruncated: missing.count > 200
            )
        }
    }

    public struct OpenFinding: Sendable, Codable, Equatable {
        public var id: Int
        public var campusId: Int
        public var date: Day
        public var version: Int
        public var rule: String
        public var severity: String
        public var field: String?
        public var message: String
    }

    /// Warnings on the current versions of reports in the scope and range, newest first;
    /// page with `before` (the last id seen).
    public func findings(scope: Scope, from: Day, to: Day, before: Int?, limit: Int) async throws -> [OpenFinding] {
        let (filter, binds) = Self.filter(scope, firstBind: 5)
        return try await db.query(
            """
            SELECT f.id, f.campus_id, f.report_date, f.version, f.rule, f.severity, f.field, f.message
            FROM qc_findings f JOIN campuses c ON c.id = f.campus_id
            WHERE f.report_date >= $1 AND f.report_date <= $2 AND f.id < $3 AND \(filter)
            ORDER BY f.id DESC LIMIT $4
            """,
            [.text(from.description), .text(to.description), .integer(Int64(before ?? Int(Int32.max) * 1000)), .integer(Int64(limit))] + binds
        ).map { row in
            OpenFinding(
                id: try row.int("id"),
                campusId: try row.int("campus_id"),
                date: Day(try row.string("report_date")) ?? Day(number: 0),
                version: try row.int("version"),
                rule: try row.string("rule"),
                severity: try row.string("severity"),
                field: try row.optionalString("field"),
                message: try row.string("message")
            )
        }
    }

    static func round(_ value: Double) -> Double {
        (value * 10_000).rounded() / 10_000
    }
}
