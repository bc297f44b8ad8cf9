import Foundation
import HealthCloudDomain

/// Reports, their versions, quality findings, the catalog and the rule table.
public struct ReportRepository: Sendable {
    let db: Repositories

    // MARK: Catalog and rules

    public func catalog() async throws -> [CatalogItem] {
        try await db.query("SELECT code, kind, name, unit FROM catalog_items WHERE active = 1 ORDER BY kind, code", []).map { row in
            CatalogItem(
                code: try row.string("code"),
                kind: CatalogKind(rawValue: try row.string("kind")) ?? .drug,
                name: try row.string("name"),
                unit: try row.string("unit")
            )
        }
    }

    public func upsertCatalog(_ items: [CatalogItem]) async throws {
        try await db.write { db in
            for item in items {
                try await db.execute(
                    """
                    INSERT INTO catalog_items (code, kind, name, unit, active) VALUES ($1, $2, $3, $4, 1)
                    ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, name = excluded.name, unit = excluded.unit, active = 1
                    """,
                    [.text(item.code), .text(item.kind.rawValue), .text(item.name), .text(item.unit)]
                )
            }
        }
    }

    /// The newest saved rule table, or the standard one.
    public func ruleTable() async throws -> QualityRuleTable {
        guard let row = try await db.first("SELECT body FROM qc_rule_tables ORDER BY version DESC LIMIT 1", []) else {
            return .standard
        }
        return try JSONDecoder().decode(QualityRuleTable.self, from: Data(try row.string("body").utf8))
    }

    /// Saves a new version of the table (versions are kept); returns its version number.
    public func saveRuleTable(_ table: QualityRuleTable, by account: Int?, now: Int64) async throws -> Int {
        try await db.write { db in
            let next = try await db.scalarInt("SELECT COALESCE(MAX(version), 1) + 1 AS v FROM qc_rule_tables")
            var saved = table
            saved.version = next
            let body = String(decoding: try JSONEncoder().encode(saved), as: UTF8.self)
            try await db.execute(
                "INSERT INTO qc_rule_tables (version, body, saved_at, saved_by) VALUES ($1, $2, $3, $4)",
                [.integer(Int64(next)), .text(body), .integer(now), SQLValue(account.map(Int64.init), SQLValue.integer)]
            )
            return next
        }
    }

    // MARK: Reading reports

    public struct Current: Sendable {
        public var version: Int
        public var status: String
        public var late: Bool
        public var firstSubmittedAt: Int64
        public var submittedAt: Int64
        public var report: DailyReport
    }

    static let selectColumns =
        "campus_id, report_date, version, status, first_submitted_at, submitted_at, late, warnings, "
        + ReportColumns.all.map(\.column).joined(separator: ", ") + ", drugs, materials"

    public func current(campusId: Int, date: Day) async throws -> Current? {
        try await db.first(
            "SELECT \(Self.selectColumns) FROM reports WHERE campus_id = $1 AND report_date = $2",
            [.integer(Int64(campusId)), .text(date.description)]
        ).map(Self.current)
    }

    /// Accepted reports of the given campuses (all when nil) between two days, inclusive.
    /// `stockDays`: the days whose stock lines are needed (decoding them is the costly part;
    /// the stock rule reads only the day before each report). Nil: every day's.
    public func history(campusIds: Set<Int>?, from: Day, to: Day, stockDays: Set<Day>? = nil) async throws -> [Int: [Day: DailyReport]] {
        var result: [Int: [Day: DailyReport]] = [:]
        var filter = ""
        var binds: [SQLValue] = [.text(from.description), .text(to.description)]
        if let campusIds {
            guard !campusIds.isEmpty else { return [:] }
            filter = " AND campus_id IN (\((0..<campusIds.count).map { "$\($0 + 3)" }.joined(separator: ", ")))"
            binds += campusIds.sorted().map { .integer(Int64($0)) }
        }
        let rows = try await db.query("SELECT \(Self.selectColumns) FROM reports WHERE report_date >= $1 AND report_date <= $2\(filter)", binds)
        for row in rows {
            let campus = try row.int("campus_id")
            guard let day = Day(try row.string("report_date")) else { continue }
            result[campus, default: [:]][day] = try Self.report(row, withStock: stockDays?.contains(day) ?? true)
        }
        return result
    }

    static func current(_ row: SQLRow) throws -> Current {
        Current(
            version: try row.int("version"),
            status: try row.string("status"),
            late: try row.bool("late"),
            firstSubmittedAt: try row.int64("first_submitted_at"),
            submittedAt: try row.int64("submitted_at"),
            report: try report(row)
        )
    }

    static func report(_ row: SQLRow, withStock: Bool = true) throws -> DailyReport {
        var report = DailyReport()
        for column in ReportColumns.all {
            if let value = try row.optionalInt(column.column) {
                report.counts[column.field] = value
                report.presentSections.insert(column.section)
            }
        }
        guard withStock else { return report }
        if let drugs = try row.optionalString("drugs") {
            report.drugs = try JSONDecoder().decode([StockLine].self, from: Data(drugs.utf8))
            report.presentSections.insert("drugs")
        }
        if let materials = try row.optionalString("materials") {
            report.materials = try JSONDecoder().decode([StockLine].self, from: Data(materials.utf8))
            report.presentSections.insert("materials")
        }
        return report
    }

    public struct VersionInfo: Sendable, Codable, Equatable {
        public var version: Int
        public var state: String
        public var status: String
        public var submittedAt: Int64
        public var submittedBy: Int?
        public var correctionReason: String?
        public var decidedBy: Int?
        public var findings: [Finding]
    }

    public func versions(campusId: Int, date: Day) async throws -> [VersionInfo] {
        try await db.query(
            """
            SELECT version, state, status, submitted_at, submitted_by, correction_reason, decided_by, findings
            FROM report_versions WHERE campus_id = $1 AND report_date = $2 ORDER BY version
            """,
            [.integer(Int64(campusId)), .text(date.description)]
        ).map { row in
            VersionInfo(
                version: try row.int("version"),
                state: try row.string("state"),
                status: try row.string("status"),
                submittedAt: try row.int64("submitted_at"),
                submittedBy: try row.optionalInt("submitted_by"),
                correctionReason: try row.optionalString("correction_reason"),
                decidedBy: try row.optionalInt("decided_by"),
                findings: try JSONDecoder().decode([Finding].self, from: Data(try row.string("findings").utf8))
            )
        }
    }

    public func payload(campusId: Int, date: Day, version: Int) async throws -> JSONValue? {
        guard
            let row = try await db.first(
                "SELECT payload FROM report_versions WHERE campus_id = $1 AND report_date = $2 AND version = $3",
                [.integer(Int64(campusId)), .text(date.description), .integer(Int64(version))]
            )
        else { return nil }
        return try JSONDecoder().decode(JSONValue.self, from: Data(try row.string("payload").utf8))
    }

    // MARK: Writing (used by ReportIngestion)

    struct Write: Sendable {
        enum Kind: Sendable { case accept, pending, rejection }
        var kind: Kind
        var campusId: Int
        var date: Day
        var version: Int
        var status: String
        var report: DailyReport
        var payload: String
        var findings: [Finding]
        var late: Bool
        var firstSubmittedAt: Int64
        var submittedAt: Int64
        var submittedBy: Int?
        var correctionReason: String?
    }

    /// Stored JSON (payloads, findings, stock lines) is written with sorted keys, so equal
    /// values are equal text.
    static var canonicalEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Stores the writes in one transaction (the caller's, when bound to one).
    func apply(_ writes: [Write]) async throws {
        guard !writes.isEmpty else { return }
        let encoder = Self.canonicalEncoder
        try await db.write { db in
            let districtOf = try await db.reports.districts()
            var currentRows: [[SQLValue]] = []
            for write in writes {
                let findings = String(decoding: try encoder.encode(write.findings), as: UTF8.self)
                let campus = SQLValue.integer(Int64(write.campusId))
                let date = SQLValue.text(write.date.description)
                switch write.kind {
                case .rejection:
                    try await db.execute(
                        """
                        INSERT INTO report_rejections (campus_id, report_date, submitted_at, submitted_by, findings) VALUES ($1, $2, $3, $4, $5)
                        """,
                        [campus, date, .integer(write.submittedAt), SQLValue(write.submittedBy.map(Int64.init), SQLValue.integer), .text(findings)]
                    )
                    continue
                case .pending:
                    try await db.reports.insertVersion(write, state: "pending_approval", findings: findings)
                    continue
                case .accept:
                    if write.version > 1 { try await db.reports.retireCurrent(write) }
                    try await db.reports.insertVersion(write, state: "current", findings: findings)
                    try await db.reports.insertWarnings(write, district: districtOf[write.campusId] ?? "")
                    currentRows.append(try currentRow(write, encoder: encoder))
                }
            }
            // A report and its correction can share a batch; one statement may touch a row
            // only once on PostgreSQL, so the last version of each campus-day wins here.
            var latest: [String: Int] = [:]
            for (index, row) in currentRows.enumerated() { latest["\(row[0])/\(row[1])"] = index }
            try await db.reports.upsertCurrent(
                currentRows.indices.filter { latest["\(currentRows[$0][0])/\(currentRows[$0][1])"] == $0 }.map { currentRows[$0] }
            )
            // Every rollup the accepted versions touch, in the same transaction.
            var changed: [Day: Set<String>?] = [:]
            for write in writes where write.kind == .accept {
                changed[write.date, default: []]?.insert(districtOf[write.campusId] ?? "")
            }
            try await IngestionProfile.phase("rollups") { try await db.figures.refreshRollups(districtsOn: changed) }
        }
    }

    /// Every campus's district (kept in memory until organisations change).
    func districts() async throws -> [Int: String] {
        try await db.caches.districtOfCampus {
            var districtOf: [Int: String] = [:]
            for row in try await db.query("SELECT id, district_code FROM campuses") {
                districtOf[try row.int("id")] = try row.string("district_code")
            }
            return districtOf
        }
    }

    /// The current version of the campus-day becomes superseded and its open findings go
    /// (from the reporters' devices too).
    private func retireCurrent(_ write: Write) async throws {
        let key: [SQLValue] = [.integer(Int64(write.campusId)), .text(write.date.description)]
        try await db.execute("UPDATE report_versions SET state = 'superseded' WHERE campus_id = $1 AND report_date = $2 AND state = 'current'", key)
        for row in try await db.query("DELETE FROM qc_findings WHERE campus_id = $1 AND report_date = $2 RETURNING id", key) {
            try await db.sync.remove(collection: "qcFindings", id: String(try row.int("id")), now: write.submittedAt)
        }
    }

    /// The warnings of a version that became current: the open findings of its campus-day,
    /// synced to the reporters of the campus (collection `qcFindings`).
    private func insertWarnings(_ write: Write, district: String) async throws {
        for finding in write.findings where finding.severity == .warning {
            guard
                let row = try await db.first(
                    """
                    INSERT INTO qc_findings (campus_id, report_date, version, rule, severity, field, message) VALUES ($1, $2, $3, $4, $5, $6, $7)
                    RETURNING id
                    """,
                    [
                        .integer(Int64(write.campusId)), .text(write.date.description), .integer(Int64(write.version)), .text(finding.rule),
                        .text(finding.severity.rawValue), SQLValue(finding.field, SQLValue.text), .text(finding.message),
                    ]
                )
            else { continue }
            try await db.sync.put(
                collection: "qcFindings",
                id: String(try row.int("id")),
                audience: SyncAudience(role: "reporter", path: "city/\(district)/\(write.campusId)"),
                data: .object([
                    "campusId": .integer(Int64(write.campusId)), "date": .string(write.date.description),
                    "version": .integer(Int64(write.version)), "rule": .string(finding.rule),
                    "severity": .string(finding.severity.rawValue), "field": finding.field.map(JSONValue.string) ?? .null,
                    "message": .string(finding.message),
                ]),
                now: write.submittedAt
            )
        }
    }

    private func insertVersion(_ write: Write, state: String, findings: String) async throws {
        try await db.execute(
            """
            INSERT INTO report_versions (campus_id, report_date, version, state, status, payload, findings, submitted_at, submitted_by, correction_reason)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            [
                .integer(Int64(write.campusId)), .text(write.date.description), .integer(Int64(write.version)), .text(state), .text(write.status),
                .text(write.payload), .text(findings), .integer(write.submittedAt), SQLValue(write.submittedBy.map(Int64.init), SQLValue.integer),
                SQLValue(write.correctionReason, SQLValue.text),
            ]
        )
    }

    private func currentRow(_ write: Write, encoder: JSONEncoder) throws -> [SQLValue] {
        var values: [SQLValue] = [
            .integer(Int64(write.campusId)), .text(write.date.description), .integer(Int64(write.version)), .text(write.status),
            .integer(write.firstSubmittedAt), .integer(write.submittedAt), SQLValue(write.late),
            .integer(Int64(write.findings.filter { $0.severity == .warning }.count)),
        ]
        for column in ReportColumns.all { values.append(SQLValue(write.report.counts[column.field].map(Int64.init), SQLValue.integer)) }
        values.append(SQLValue(try write.report.drugs.map { String(decoding: try encoder.encode($0), as: UTF8.self) }, SQLValue.text))
        values.append(SQLValue(try write.report.materials.map { String(decoding: try encoder.encode($0), as: UTF8.self) }, SQLValue.text))
        return values
    }

    /// Many rows per statement: the backfill of two years is hundreds of thousands of rows.
    private func upsertCurrent(_ rows: [[SQLValue]]) async throws {
        guard let width = rows.first?.count else { return }
        let columns = Self.selectColumns
        let updates = columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0 != "campus_id" && $0 != "report_date" && $0 != "first_submitted_at" }
            .map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        let chunkSize = max(1, 8_000 / width)
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + chunkSize)]
            var binds: [SQLValue] = []
            binds.reserveCapacity(chunk.count * width)
            var tuples: [String] = []
            for row in chunk {
                let base = binds.count
                tuples.append("(" + (1...width).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
                binds.append(contentsOf: row)
            }
            try await db.execute(
                """
                INSERT INTO reports (\(columns)) VALUES \(tuples.joined(separator: ", "))
                ON CONFLICT (campus_id, report_date) DO UPDATE SET \(updates)
                """,
                binds
            )
            start += chunkSize
        }
    }

    /// Turns a pending correction into the current version (approval) or declines it.
    enum DecisionOutcome {
        case notPending
        case supersededByNewer(current: Int)
        case declined
        case approved(Write)
    }

    func decide(campusId: Int, date: Day, version: Int, approve: Bool, by account: Int, now: Int64) async throws -> DecisionOutcome {
        try await db.write { db in
            guard
                let row = try await db.first(
                    """
                    SELECT status, payload, findings, submitted_at, submitted_by, correction_reason FROM report_versions
                    WHERE campus_id = $1 AND report_date = $2 AND version = $3 AND state = 'pending_approval'
                    """,
                    [.integer(Int64(campusId)), .text(date.description), .integer(Int64(version))]
                )
            else { return .notPending }
            // Approving an older pending correction after a newer version became current
            // would roll the data back: refuse, the newer version stands.
            if approve,
                let current = try await db.first(
                    "SELECT version FROM reports WHERE campus_id = $1 AND report_date = $2",
                    [.integer(Int64(campusId)), .text(date.description)]
                ),
                try current.int("version") > version
            {
                return .supersededByNewer(current: try current.int("version"))
            }
            try await db.execute(
                "UPDATE report_versions SET state = $1, decided_by = $2, decided_at = $3 WHERE campus_id = $4 AND report_date = $5 AND version = $6",
                [
                    .text(approve ? "pending_approval" : "declined"), .integer(Int64(account)), .integer(now),
                    .integer(Int64(campusId)), .text(date.description), .integer(Int64(version)),
                ]
            )
            guard approve else { return .declined }
            return .approved(
                Write(
                    kind: .accept,
                    campusId: campusId,
                    date: date,
                    version: version,
                    status: try row.string("status"),
                    report: DailyReport(),
                    payload: try row.string("payload"),
                    findings: try JSONDecoder().decode([Finding].self, from: Data(try row.string("findings").utf8)),
                    late: false,
                    firstSubmittedAt: 0,
                    submittedAt: try row.int64("submitted_at"),
                    submittedBy: try row.optionalInt("submitted_by"),
                    correctionReason: try row.optionalString("correction_reason")
                )
            )
        }
    }

    /// Makes an approved pending version current (its row already exists).
    func promote(_ write: Write, firstSubmittedAt: Int64, late: Bool, report: DailyReport) async throws {
        let encoder = Self.canonicalEncoder
        try await db.write { db in
            try await db.reports.retireCurrent(write)
            try await db.execute(
                "UPDATE report_versions SET state = 'current' WHERE campus_id = $1 AND report_date = $2 AND version = $3",
                [.integer(Int64(write.campusId)), .text(write.date.description), .integer(Int64(write.version))]
            )
            try await db.reports.insertWarnings(write, district: try await db.reports.districts()[write.campusId] ?? "")
            var promoted = write
            promoted.report = report
            promoted.firstSubmittedAt = firstSubmittedAt
            promoted.late = late
            try await db.reports.upsertCurrent([try currentRow(promoted, encoder: encoder)])
            try await db.figures.refreshRollups(districtsOn: [write.date: [try await db.reports.districts()[write.campusId] ?? ""]])
        }
    }
}
