import Foundation
import HealthCloudDomain

/// One report as submitted: by a reporter's PUT, a hospital system's batch, an offline
/// device's sync mutation, or the demo backfill — all judged by the same path.
public struct ReportSubmission: Sendable {
    public var campusId: Int
    public var date: Day
    public var body: JSONValue
    public var correctionReason: String?
    public var submittedBy: Int?
    public var submittedAt: Int64
    /// The submitter holds a district (or city) reporter scope over the campus, so a
    /// correction after the lock date needs no second person.
    public var submitterMayApprove: Bool

    public init(
        campusId: Int,
        date: Day,
        body: JSONValue,
        correctionReason: String?,
        submittedBy: Int?,
        submittedAt: Int64,
        submitterMayApprove: Bool = false
    ) {
        self.campusId = campusId
        self.date = date
        self.body = body
        self.correctionReason = correctionReason
        self.submittedBy = submittedBy
        self.submittedAt = submittedAt
        self.submitterMayApprove = submitterMayApprove
    }
}

public enum IngestionResult: Sendable, Equatable {
    /// Stored as the current version (`created`: the first version of that campus-day).
    case accepted(version: Int, status: String, findings: [Finding], created: Bool)
    /// A correction after the lock date, kept until a district reporter approves it.
    case pendingApproval(version: Int, findings: [Finding])
    /// Errors: nothing stored but the record of the attempt; the current version stays.
    case rejected(findings: [Finding])
    case correctionReasonRequired
    case unknownCampus

    public var isAccepted: Bool {
        if case .accepted = self { true } else { false }
    }

    /// The outcome in one word (a batch item's status, an audit row's result).
    public var label: String {
        switch self {
        case .accepted(_, let status, _, _): status
        case .pendingApproval: "pending_approval"
        case .rejected: "rejected"
        case .correctionReasonRequired: "correction_reason_required"
        case .unknownCampus: "campus_not_found"
        }
    }
}

/// Judges and stores reports. Nothing accepted is ever overwritten in place: a correction
/// is a new version; the earlier ones are kept.
public struct ReportIngestion: Sendable {
    let db: Repositories
    var reports: ReportRepository { db.reports }
    var warnings: WarningRepository { db.warnings }

    /// Judges `submissions` in day order (so a backfill's earlier days are the history of
    /// its later ones) and stores the outcomes; returns one result per submission, in order.
    /// `now`: when warning changes are stamped (default: the latest submission time).
    /// Bound to a transaction (`database.write { tx in tx.ingestion… }`), the outcomes commit
    /// with whatever else the caller writes there (its audit row, a mutation's record).
    public func ingest(_ submissions: [ReportSubmission], today: Day, now: Int64? = nil) async throws -> [IngestionResult] {
        guard !submissions.isEmpty else { return [] }
        let (table, catalogItems) = try await IngestionProfile.phase("rules and catalog") {
            (try await reports.ruleTable(), try await reports.catalog())
        }
        var catalog: [CatalogKind: Set<String>] = [:]
        for item in catalogItems { catalog[item.kind, default: []].insert(item.code) }
        let districtOf = try await IngestionProfile.phase("campus map") { try await reports.districts() }

        var window = 1
        for rule in table.rules { if case .outlier(_, let days, _) = rule.check { window = max(window, days) } }
        let first = submissions.map(\.date).min()!
        let last = submissions.map(\.date).max()!
        let campuses = Set(submissions.map(\.campusId))
        // Stock lines are read for the week before each report (the stock rule reads the day
        // before, days of supply the last seven) and the batch's own days, which become history
        // for its later ones.
        var stockDays = Set<Day>()
        for date in Set(submissions.map(\.date)) { stockDays.formUnion((0...7).map { date - $0 }) }
        var history = try await IngestionProfile.phase("history read") {
            try await reports.history(campusIds: campuses.count > 64 ? nil : campuses, from: first - window, to: last, stockDays: stockDays)
        }
        // The highest version of every campus-day in the batch's range, in one query (of the
        // batch's campuses, when they are few).
        var nextVersion: [String: Int] = [:]
        try await IngestionProfile.phase("versions read") {
            let few = campuses.count <= 64 ? campuses.sorted() : []
            for row in try await reports.db.query(
                """
                SELECT campus_id, report_date, MAX(version) AS v FROM report_versions
                WHERE report_date >= $1 AND report_date <= $2\(few.isEmpty ? "" : " AND campus_id IN (\((0..<few.count).map { "$\($0 + 3)" }.joined(separator: ", ")))")
                GROUP BY campus_id, report_date
                """,
                [.text(first.description), .text(last.description)] + few.map { .integer(Int64($0)) }
            ) {
                nextVersion["\(try row.int("campus_id"))/\(try row.string("report_date"))"] = try row.int("v")
            }

        }
        var results = [IngestionResult?](repeating: nil, count: submissions.count)
        var writes: [ReportRepository.Write] = []
        let order = submissions.indices.sorted {
            (submissions[$0].date, submissions[$0].campusId, $0) < (submissions[$1].date, submissions[$1].campusId, $1)
        }
        let encoder = ReportRepository.canonicalEncoder

        let judging = ContinuousClock.now
        for index in order {
            let submission = submissions[index]
            guard districtOf[submission.campusId] != nil else {
                results[index] = .unknownCampus
                continue
            }
            let key = "\(submission.campusId)/\(submission.date)"
            let existing = history[submission.campusId]?[submission.date]
            let highest = nextVersion[key] ?? 0
            let isCorrection = existing != nil
            let reason = submission.correctionReason?.trimmingCharacters(in: .whitespacesAndNewlines)
            if isCorrection, reason?.isEmpty ?? true {
                results[index] = .correctionReasonRequired
                continue
            }
            var pastDays = history[submission.campusId] ?? [:]
            pastDays[submission.date] = nil
            let outcome = QualityControl.evaluate(
                submission.body,
                table: table,
                catalog: catalog,
                input: .init(
                    date: submission.date,
                    today: today,
                    submittedAt: submission.submittedAt,
                    isFirstVersion: highest == 0,
                    history: pastDays
                )
            )
            let payload = String(decoding: try encoder.encode(submission.body), as: UTF8.self)
            guard outcome.accepted else {
                results[index] = .rejected(findings: outcome.findings)
                writes.append(
                    .init(
                        kind: .rejection,
                        campusId: submission.campusId,
                        date: submission.date,
                        version: 0,
                        status: "rejected",
                        report: outcome.report,
                        payload: payload,
                        findings: outcome.findings,
                        late: false,
                        firstSubmittedAt: submission.submittedAt,
                        submittedAt: submission.submittedAt,
                        submittedBy: submission.submittedBy,
                        correctionReason: reason
                    )
                )
                continue
            }
            let version = highest + 1
            nextVersion[key] = version
            let status = outcome.warnings.isEmpty ? "accepted" : "accepted_with_warnings"
            let locked = isCorrection && today - submission.date > table.lockAfterDays
            if locked && !submission.submitterMayApprove {
                results[index] = .pendingApproval(version: version, findings: outcome.findings)
                writes.append(
                    .init(
                        kind: .pending,
                        campusId: submission.campusId,
                        date: submission.date,
                        version: version,
                        status: status,
                        report: outcome.report,
                        payload: payload,
                        findings: outcome.findings,
                        late: false,
                        firstSubmittedAt: submission.submittedAt,
                        submittedAt: submission.submittedAt,
                        submittedBy: submission.submittedBy,
                        correctionReason: reason
                    )
                )
                continue
            }
            let previous = isCorrection ? try await reports.current(campusId: submission.campusId, date: submission.date) : nil
            results[index] = .accepted(version: version, status: status, findings: outcome.findings, created: !isCorrection)
            writes.append(
                .init(
                    kind: .accept,
                    campusId: submission.campusId,
                    date: submission.date,
                    version: version,
                    status: status,
                    report: outcome.report,
                    payload: payload,
                    findings: outcome.findings,
                    late: previous?.late ?? outcome.late,
                    firstSubmittedAt: previous?.firstSubmittedAt ?? submission.submittedAt,
                    submittedAt: submission.submittedAt,
                    submittedBy: submission.submittedBy,
                    correctionReason: reason
                )
            )
            history[submission.campusId, default: [:]][submission.date] = outcome.report
        }
        IngestionProfile.current?.add("quality control", since: judging)
        let outcomes = results.map { $0! }
        try await IngestionProfile.phase("store (rollups inside)") { try await reports.apply(writes) }
        try await IngestionProfile.phase("warnings") { try await evaluateWarnings(after: writes, history: history, today: today, now: now) }
        return outcomes
    }

    /// Warnings are judged on every ingest, for the campus-days that became current and the
    /// district and city above them.
    private func evaluateWarnings(after writes: [ReportRepository.Write], history: [Int: [Day: DailyReport]], today: Day, now: Int64?) async throws {
        let accepted = writes.filter { $0.kind == .accept }
        guard !accepted.isEmpty else { return }
        var campusFigures: [Int: [Day: DayFigures]] = [:]
        for campus in Set(accepted.map(\.campusId)) {
            campusFigures[campus] = (history[campus] ?? [:]).mapValues(DayFigures.init(report:))
        }
        try await warnings.evaluate(
            campusDays: accepted.map { ($0.campusId, $0.date) },
            campusFigures: campusFigures,
            deliverFrom: today - 2,
            now: now ?? accepted.map(\.submittedAt).max() ?? 0
        )
    }

    public enum Decision: Sendable, Equatable {
        case approved(version: Int)
        case declined(version: Int)
        case notPending
        /// A newer version is already current; the older correction can only be declined.
        case supersededByNewer(current: Int)
    }

    /// A district reporter approves or declines a correction waiting after the lock date.
    public func decide(campusId: Int, date: Day, version: Int, approve: Bool, by account: Int, now: Int64) async throws -> Decision {
        let write: ReportRepository.Write
        switch try await reports.decide(campusId: campusId, date: date, version: version, approve: approve, by: account, now: now) {
        case .notPending: return .notPending
        case .supersededByNewer(let current): return .supersededByNewer(current: current)
        case .declined: return .declined(version: version)
        case .approved(let pending): write = pending
        }
        var catalog: [CatalogKind: Set<String>] = [:]
        for item in try await reports.catalog() { catalog[item.kind, default: []].insert(item.code) }
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(write.payload.utf8))
        let (report, _) = ReportParser.parse(body, catalog: catalog)
        let previous = try await reports.current(campusId: campusId, date: date)
        try await reports.promote(
            write,
            firstSubmittedAt: previous?.firstSubmittedAt ?? write.submittedAt,
            late: previous?.late ?? false,
            report: report
        )
        let history = try await reports.history(campusIds: [campusId], from: date - WarningEngine.windowDays, to: date)
        try await warnings.evaluate(
            campusDays: [(campusId, date)],
            campusFigures: [campusId: (history[campusId] ?? [:]).mapValues(DayFigures.init(report:))],
            deliverFrom: Day(shanghaiTimeOf: now) - 2,
            now: now
        )
        return .approved(version: version)
    }
}
