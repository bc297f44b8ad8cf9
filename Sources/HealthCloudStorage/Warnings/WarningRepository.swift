import Foundation
import HealthCloudDomain

/// Warnings of the four pressures at city, district and campus level: the admin rule table,
/// the evaluation that runs after every ingest, and the lifecycle (open → acknowledged →
/// resolved). One unresolved warning per scope and rule: a persisting condition updates it.
public struct WarningRepository: Sendable {
    let db: Repositories

    // MARK: Rule table

    public func ruleTable() async throws -> WarningRuleTable {
        guard let row = try await db.first("SELECT body FROM warning_rule_tables ORDER BY version DESC LIMIT 1", []) else {
            return .standard
        }
        return try JSONDecoder().decode(WarningRuleTable.self, from: Data(try row.string("body").utf8))
    }

    /// Saves a new version (versions are kept); returns its number.
    public func saveRuleTable(_ table: WarningRuleTable, by account: Int?, now: Int64) async throws -> Int {
        try await db.write { db in
            let next = try await db.scalarInt("SELECT COALESCE(MAX(version), 1) + 1 AS v FROM warning_rule_tables")
            var saved = table
            saved.version = next
            let body = String(decoding: try ReportRepository.canonicalEncoder.encode(saved), as: UTF8.self)
            try await db.execute(
                "INSERT INTO warning_rule_tables (version, body, saved_at, saved_by) VALUES ($1, $2, $3, $4)",
                [.integer(Int64(next)), .text(body), .integer(now), SQLValue(account.map(Int64.init), SQLValue.integer)]
            )
            return next
        }
    }

    // MARK: Evaluation

    /// Judges the scopes touched by newly accepted reports: each campus on its days, and its
    /// district and the city on the same days (their rollups are already current). A day
    /// older than a scope's newest evaluated day is a correction of the past: the rollups
    /// change, the warnings about the present do not. `campusFigures` holds what the caller
    /// already read (the campuses' recent days); district and city figures are read here.
    /// Warnings opened or escalated for a day on or after `deliverFrom` are marked for
    /// delivery to the scope's leaders (older ones are history being backfilled).
    func evaluate(campusDays: [(campus: Int, date: Day)], campusFigures: [Int: [Day: DayFigures]], deliverFrom: Day, now: Int64) async throws {
        guard !campusDays.isEmpty else { return }
        let table = try await ruleTable()
        let dates = Set(campusDays.map(\.date)).sorted()
        let window = WarningEngine.windowDays
        let districtOf = try await db.reports.districts()
        // The rollups of the scopes judged (the campuses' districts and the city) over the
        // look-back of every judged day; only those are read.
        let judged = ["city"] + Set(campusDays.compactMap { districtOf[$0.campus] }).sorted().map { Scope.district($0).description }
        var scopeFigures: [String: [Day: DayFigures]] = [:]
        for row in try await db.query(
            """
            SELECT scope, report_date, campuses_reported, \(FiguresRepository.countColumns), stock FROM rollups
            WHERE report_date >= $1 AND report_date <= $2 AND scope IN (\((0..<judged.count).map { "$\($0 + 3)" }.joined(separator: ", ")))
            """,
            [.text((dates.first! - (window - 1)).description), .text(dates.last!.description)] + judged.map { .text($0) }
        ) {
            guard let day = Day(try row.string("report_date")) else { continue }
            scopeFigures[try row.string("scope"), default: [:]][day] = try FiguresRepository.figures(row, rollup: true)
        }
        for (campus, days) in campusFigures { scopeFigures[Scope.campus(campus).description] = days }

        var scopesByDate: [Day: Set<String>] = [:]
        for (campus, date) in campusDays {
            guard let district = districtOf[campus] else { continue }
            scopesByDate[date, default: []].formUnion([Scope.campus(campus).description, Scope.district(district).description, "city"])
        }
        let figuresByScope = scopeFigures
        let scopesOfDate = scopesByDate
        try await db.write { db in
            // One evaluation at a time (two ingests judge the same district and city).
            try await db.figures.serialize(lock: .warnings)
            var lastEvaluated: [String: Day] = [:]
            for row in try await db.query("SELECT scope, last_date FROM warning_evaluations") {
                lastEvaluated[try row.string("scope")] = Day(try row.string("last_date"))
            }
            var active: [String: [ActiveWarning]] = [:]
            for row in try await db.query("SELECT id, scope, rule_id, level, status, clear_days FROM warnings WHERE status <> 'resolved'") {
                active[try row.string("scope"), default: []].append(
                    ActiveWarning(
                        id: try row.int("id"),
                        ruleId: try row.string("rule_id"),
                        level: WarningLevel(rawValue: try row.string("level")) ?? .blue,
                        status: WarningStatus(rawValue: try row.string("status")) ?? .open,
                        clearDays: try row.int("clear_days")
                    )
                )
            }
            let titles = Dictionary(table.rules.map { ($0.id, $0.title) }, uniquingKeysWith: { first, _ in first })
            var touched = Set<String>()
            for date in dates {
                for scopeText in (scopesOfDate[date] ?? []).sorted() {
                    guard let scope = Scope(scopeText) else { continue }
                    let previous = lastEvaluated[scopeText]
                    if let previous, date < previous { continue }
                    let level: ScopeLevel =
                        switch scope {
                        case .city: .city
                        case .district: .district
                        default: .campus
                        }
                    let figures = FiguresWindow(lastDay: date, length: window, from: figuresByScope[scopeText] ?? [:])
                    let firings = WarningEngine.evaluate(table, level: level, window: figures)
                    var changes = WarningEngine.changes(
                        active: active[scopeText] ?? [],
                        firings: firings,
                        autoResolveAfterDays: table.autoResolveAfterDays
                    )
                    // The same day judged again (a correction on the newest day): conditions are
                    // re-read, but clear days were already counted.
                    if previous == date {
                        changes = changes.filter { if case .open = $0 { true } else if case .update = $0 { true } else { false } }
                    }
                    let (district, campus): (String?, Int?) =
                        switch scope {
                        case .district(let code): (code, nil)
                        case .campus(let id): (districtOf[id], id)
                        default: (nil, nil)
                        }
                    active[scopeText] = try await db.warnings.apply(
                        changes,
                        scope: scopeText,
                        district: district,
                        campus: campus,
                        date: date,
                        active: active[scopeText] ?? [],
                        titles: titles,
                        deliver: date >= deliverFrom,
                        now: now
                    )
                    lastEvaluated[scopeText] = date
                    touched.insert(scopeText)
                }
            }
            for scope in touched.sorted() {
                try await db.execute(
                    """
                    INSERT INTO warning_evaluations (scope, last_date) VALUES ($1, $2)
                    ON CONFLICT (scope) DO UPDATE SET last_date = excluded.last_date
                    """,
                    [.text(scope), .text(lastEvaluated[scope]!.description)]
                )
            }
        }
    }

    private static func statisticText(_ firing: WarningFiring) throws -> SQLValue {
        guard let statistic = firing.statistic else { return .null }
        return .text(String(decoding: try ReportRepository.canonicalEncoder.encode(statistic), as: UTF8.self))
    }

    /// Writes one day's lifecycle changes of a scope; returns its unresolved warnings after them.
    private func apply(
        _ changes: [WarningChange],
        scope: String,
        district: String?,
        campus: Int?,
        date: Day,
        active: [ActiveWarning],
        titles: [String: String],
        deliver: Bool,
        now: Int64
    ) async throws -> [ActiveWarning] {
        var byId = Dictionary(uniqueKeysWithValues: active.map { ($0.id, $0) })
        for change in changes {
            switch change {
            case .open(let firing):
                guard
                    let row = try await db.first(
                        """
                        INSERT INTO warnings (scope, district_code, campus_id, rule_id, title, pressure, metric, method, level, status, value, threshold,
                                              statistic, opened_date, last_fired_date, clear_days, opened_at, updated_at)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12, $13, $13, 0, $14, $14) RETURNING id
                        """,
                        [
                            .text(scope), SQLValue(district, SQLValue.text), SQLValue(campus.map(Int64.init), SQLValue.integer), .text(firing.ruleId),
                            .text(titles[firing.ruleId] ?? firing.ruleId), .text(firing.pressure.rawValue), .text(firing.metric),
                            .text(firing.method.rawValue), .text(firing.level.rawValue), .real(firing.value), .real(firing.threshold),
                            try Self.statisticText(firing), .text(date.description), .integer(now),
                        ]
                    )
                else { continue }
                let id = try row.int("id")
                try await db.warnings.event(warning: id, kind: "opened", level: firing.level, date: date, deliver: deliver, now: now)
                try await db.warnings.publish(warningId: id, now: now)
                byId[id] = ActiveWarning(id: id, ruleId: firing.ruleId, level: firing.level, status: .open, clearDays: 0)
            case .update(let id, let firing, let escalated):
                // An escalation needs acknowledging again.
                try await db.execute(
                    """
                    UPDATE warnings SET level = $1, value = $2, threshold = $3, statistic = $4, last_fired_date = $5, clear_days = 0,
                                        updated_at = $6, status = CASE WHEN $7 = 1 THEN 'open' ELSE status END
                    WHERE id = $8
                    """,
                    [
                        .text(firing.level.rawValue), .real(firing.value), .real(firing.threshold), try Self.statisticText(firing),
                        .text(date.description), .integer(now), .integer(escalated ? 1 : 0), .integer(Int64(id)),
                    ]
                )
                if escalated || firing.level != byId[id]?.level {
                    try await db.warnings.event(
                        warning: id,
                        kind: escalated ? "escalated" : "deescalated",
                        level: firing.level,
                        date: date,
                        deliver: deliver && escalated,
                        now: now
                    )
                }
                try await db.warnings.publish(warningId: id, now: now)
                byId[id]?.level = firing.level
                byId[id]?.clearDays = 0
                if escalated { byId[id]?.status = .open }
            case .clear(let id, let clearDays):
                try await db.execute("UPDATE warnings SET clear_days = $1 WHERE id = $2", [.integer(Int64(clearDays)), .integer(Int64(id))])
                byId[id]?.clearDays = clearDays
            case .resolve(let id):
                try await db.execute(
                    """
                    UPDATE warnings SET status = 'resolved', resolution = 'auto', resolved_at = $1, updated_at = $1, clear_days = clear_days + 1
                    WHERE id = $2
                    """,
                    [.integer(now), .integer(Int64(id))]
                )
                try await db.warnings.event(warning: id, kind: "resolved", level: byId[id]?.level ?? .blue, date: date, deliver: false, now: now)
                try await db.warnings.publish(warningId: id, now: now)
                byId[id] = nil
            }
        }
        return byId.values.sorted { $0.id < $1.id }
    }

    private func event(
        warning: Int,
        kind: String,
        level: WarningLevel,
        date: Day?,
        by account: Int? = nil,
        note: String? = nil,
        deliver: Bool,
        now: Int64
    ) async throws {
        try await db.execute(
            """
            INSERT INTO warning_events (warning_id, kind, level, report_date, at, by_account, note, deliver) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            [
                .integer(Int64(warning)), .text(kind), .text(level.rawValue), SQLValue(date?.description, SQLValue.text), .integer(now),
                SQLValue(account.map(Int64.init), SQLValue.integer), SQLValue(note, SQLValue.text), SQLValue(deliver),
            ]
        )
    }

    // MARK: Sync

    /// Writes a warning's current state to the sync log (collection `warnings`, read by the
    /// leaders whose scope covers it), in the transaction that changed it.
    func publish(warningId id: Int, now: Int64) async throws {
        try await db.write { db in
            guard
                let row = try await db.first(
                    """
                    SELECT w.scope, w.district_code, w.campus_id, w.rule_id, w.title, w.pressure, w.level, w.status, w.value, w.threshold,
                           w.opened_date, w.last_fired_date, w.ack_note, d.name AS district_name, i.name AS institution_name, c.name AS campus_name
                    FROM warnings w LEFT JOIN districts d ON d.code = w.district_code
                    LEFT JOIN campuses c ON c.id = w.campus_id LEFT JOIN institutions i ON i.id = c.institution_id
                    WHERE w.id = $1
                    """,
                    [.integer(Int64(id))]
                )
            else { return }
            var path = "city"
            var scopeName = "上海市"
            if let district = try row.optionalString("district_code") {
                path += "/\(district)"
                scopeName = try row.optionalString("district_name") ?? district
            }
            if let campus = try row.optionalInt("campus_id") {
                path += "/\(campus)"
                scopeName = FiguresRepository.campusName(
                    institution: try row.optionalString("institution_name") ?? "",
                    campus: try row.optionalString("campus_name") ?? ""
                )
            }
            let data: JSONValue = .object([
                "scope": .string(try row.string("scope")), "scopeName": .string(scopeName), "ruleId": .string(try row.string("rule_id")),
                "title": .string(try row.string("title")), "pressure": .string(try row.string("pressure")), "level": .string(try row.string("level")),
                "status": .string(try row.string("status")), "value": .string(SyncLog.decimal(try row.double("value"))),
                "threshold": .string(SyncLog.decimal(try row.double("threshold"))), "openedDate": .string(try row.string("opened_date")),
                "lastFiredDate": .string(try row.string("last_fired_date")),
                "acknowledgementNote": try row.optionalString("ack_note").map(JSONValue.string) ?? .null,
            ])
            try await db.sync.put(collection: "warnings", id: String(id), audience: SyncAudience(role: "leader", path: path), data: data, now: now)
        }
    }

    // MARK: Reading

    public struct Warning: Sendable, Codable, Equatable {
        public var id: Int
        public var scope: String
        public var ruleId: String
        public var title: String
        public var pressure: String
        public var metric: String
        public var method: String
        public var level: String
        public var status: String
        public var value: Double
        public var threshold: Double
        public var statistic: Aberration.Statistic?
        public var openedDate: String
        public var lastFiredDate: String
        public var clearDays: Int
        public var acknowledgedBy: Int?
        public var acknowledgedAt: Int64?
        public var acknowledgementNote: String?
        public var resolvedAt: Int64?
        public var resolution: String?
    }

    static let warningColumns = """
        id, scope, rule_id, title, pressure, metric, method, level, status, value, threshold, statistic, opened_date, last_fired_date,
        clear_days, acknowledged_by, acknowledged_at, ack_note, resolved_at, resolution
        """

    static func warning(_ row: SQLRow) throws -> Warning {
        Warning(
            id: try row.int("id"),
            scope: try row.string("scope"),
            ruleId: try row.string("rule_id"),
            title: try row.string("title"),
            pressure: try row.string("pressure"),
            metric: try row.string("metric"),
            method: try row.string("method"),
            level: try row.string("level"),
            status: try row.string("status"),
            value: try row.double("value"),
            threshold: try row.double("threshold"),
            statistic: try row.optionalString("statistic").map { try JSONDecoder().decode(Aberration.Statistic.self, from: Data($0.utf8)) },
            openedDate: try row.string("opened_date"),
            lastFiredDate: try row.string("last_fired_date"),
            clearDays: try row.int("clear_days"),
            acknowledgedBy: try row.optionalInt("acknowledged_by"),
            acknowledgedAt: try row.optionalInt("acknowledged_at").map(Int64.init),
            acknowledgementNote: try row.optionalString("ack_note"),
            resolvedAt: try row.optionalInt("resolved_at").map(Int64.init),
            resolution: try row.optionalString("resolution")
        )
    }

    /// Warnings about a scope and everything under it (a district's own and its campuses').
    static func filter(_ scope: Scope, firstBind: Int) -> (sql: String, binds: [SQLValue]) {
        switch scope {
        case .city: ("1 = 1", [])
        case .district(let code): ("district_code = $\(firstBind)", [.text(code)])
        case .campus(let id): ("campus_id = $\(firstBind)", [.integer(Int64(id))])
        case .institution(let id): ("campus_id IN (SELECT id FROM campuses WHERE institution_id = $\(firstBind))", [.integer(Int64(id))])
        default: ("1 = 0", [])
        }
    }

    public enum StatusFilter: String, Sendable, CaseIterable {
        /// Open or acknowledged.
        case active
        case open
        case acknowledged
        case resolved
        case all
    }

    static let levelRank = "CASE level WHEN 'red' THEN 4 WHEN 'orange' THEN 3 WHEN 'yellow' THEN 2 ELSE 1 END"

    /// Unresolved first, then most severe, then most recently fired; paged by `limit` and `offset`.
    public func list(scope: Scope, status: StatusFilter, limit: Int, offset: Int = 0) async throws -> [Warning] {
        let (filter, binds) = Self.filter(scope, firstBind: 1)
        let statusSQL =
            switch status {
            case .active: "status <> 'resolved'"
            case .open: "status = 'open'"
            case .acknowledged: "status = 'acknowledged'"
            case .resolved: "status = 'resolved'"
            case .all: "1 = 1"
            }
        return try await db.query(
            """
            SELECT \(Self.warningColumns) FROM warnings WHERE \(filter) AND \(statusSQL)
            ORDER BY CASE WHEN status = 'resolved' THEN 0 ELSE 1 END DESC, \(Self.levelRank) DESC, last_fired_date DESC, id DESC
            LIMIT \(max(1, min(limit, 1000))) OFFSET \(max(0, offset))
            """,
            binds
        ).map(Self.warning)
    }

    /// Unresolved warnings of a scope (and under it) by level.
    public func activeCounts(scope: Scope) async throws -> [WarningLevel: Int] {
        let (filter, binds) = Self.filter(scope, firstBind: 1)
        var counts: [WarningLevel: Int] = [:]
        for row in try await db.query(
            "SELECT level, COUNT(*) AS n FROM warnings WHERE \(filter) AND status <> 'resolved' GROUP BY level",
            binds
        ) {
            if let level = WarningLevel(rawValue: try row.string("level")) { counts[level] = try row.int("n") }
        }
        return counts
    }

    public func warning(id: Int) async throws -> Warning? {
        try await db.first("SELECT \(Self.warningColumns) FROM warnings WHERE id = $1", [.integer(Int64(id))]).map(Self.warning)
    }

    public struct Event: Sendable, Codable, Equatable {
        public var kind: String
        public var level: String
        public var reportDate: String?
        public var at: Int64
        public var by: Int?
        public var note: String?
        public var deliver: Bool
    }

    public func events(warningId: Int) async throws -> [Event] {
        try await db.query(
            """
            SELECT kind, level, report_date, at, by_account, note, deliver FROM warning_events WHERE warning_id = $1 ORDER BY id
            """,
            [.integer(Int64(warningId))]
        ).map {
            Event(
                kind: try $0.string("kind"),
                level: try $0.string("level"),
                reportDate: try $0.optionalString("report_date"),
                at: try $0.int64("at"),
                by: try $0.optionalInt("by_account"),
                note: try $0.optionalString("note"),
                deliver: try $0.bool("deliver")
            )
        }
    }

    /// Events marked for delivery and not yet delivered (the sync feature sends them to phones).
    public func pendingDeliveries(limit: Int = 100) async throws -> [(eventId: Int, warning: Warning, kind: String)] {
        try await db.query(
            """
            SELECT e.id AS event_id, e.kind AS event_kind, \(Self.warningColumns.split(separator: ",").map { "w.\($0.trimmingCharacters(in: .whitespacesAndNewlines))" }.joined(separator: ", "))
            FROM warning_events e JOIN warnings w ON w.id = e.warning_id
            WHERE e.deliver = 1 AND e.delivered_at IS NULL ORDER BY e.id LIMIT \(max(1, min(limit, 1000)))
            """
        ).map { (try $0.int("event_id"), try Self.warning($0), try $0.string("event_kind")) }
    }

    // MARK: Lifecycle by hand

    public enum Outcome: Sendable, Equatable {
        case done(Warning)
        case notFound
        case alreadyAcknowledged
        case alreadyResolved
    }

    /// The same, inside a caller's transaction (the sync mutation records its result with it).
    public func acknowledge(id: Int, by account: Int, note: String, now: Int64) async throws -> Outcome {
        try await db.write { db in
            // One conditional update: two leaders acknowledging at once cannot both win (PostgreSQL
            // re-checks the condition on the row the other transaction just changed).
            guard
                let row = try await db.first(
                    """
                    UPDATE warnings SET status = 'acknowledged', acknowledged_by = $1, acknowledged_at = $2, ack_note = $3, updated_at = $2
                    WHERE id = $4 AND status = 'open' RETURNING level
                    """,
                    [.integer(Int64(account)), .integer(now), .text(note), .integer(Int64(id))]
                )
            else {
                switch try await db.first("SELECT status FROM warnings WHERE id = $1", [.integer(Int64(id))])?.string("status") {
                case nil: return .notFound
                case "resolved": return .alreadyResolved
                default: return .alreadyAcknowledged
                }
            }
            try await db.warnings.event(
                warning: id,
                kind: "acknowledged",
                level: WarningLevel(rawValue: try row.string("level")) ?? .blue,
                date: nil,
                by: account,
                note: note,
                deliver: false,
                now: now
            )
            try await db.warnings.publish(warningId: id, now: now)
            return .done(try Self.warning(try await db.first("SELECT \(Self.warningColumns) FROM warnings WHERE id = $1", [.integer(Int64(id))])!))
        }
    }

    /// A leader resolves a warning by hand (open or acknowledged).
    public func resolve(id: Int, by account: Int, note: String, now: Int64) async throws -> Outcome {
        try await db.write { db in
            guard
                let row = try await db.first(
                    """
                    UPDATE warnings SET status = 'resolved', resolution = 'manual', resolved_by = $1, resolved_at = $2, updated_at = $2
                    WHERE id = $3 AND status <> 'resolved' RETURNING level
                    """,
                    [.integer(Int64(account)), .integer(now), .integer(Int64(id))]
                )
            else {
                return try await db.first("SELECT 1 AS present FROM warnings WHERE id = $1", [.integer(Int64(id))]) == nil
                    ? .notFound : .alreadyResolved
            }
            try await db.warnings.event(
                warning: id,
                kind: "resolved",
                level: WarningLevel(rawValue: try row.string("level")) ?? .blue,
                date: nil,
                by: account,
                note: note,
                deliver: false,
                now: now
            )
            try await db.warnings.publish(warningId: id, now: now)
            return .done(try Self.warning(try await db.first("SELECT \(Self.warningColumns) FROM warnings WHERE id = $1", [.integer(Int64(id))])!))
        }
    }

    /// The scope a warning is about (for authorization before the handler runs).
    public func scope(ofWarning id: Int) async throws -> Scope? {
        try await db.first("SELECT scope FROM warnings WHERE id = $1", [.integer(Int64(id))]).flatMap { Scope(try $0.string("scope")) }
    }
}
