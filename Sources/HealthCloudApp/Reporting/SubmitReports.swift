import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage

/// Submitting daily reports — `PUT /reports/{campusId}/{date}`, `POST /reports:batch` and the
/// `submitReport` mutation alike: each report's campus must exist and be in the caller's
/// reporting scope; quality control judges it whole; the outcomes, their audit row and a
/// mutation's record commit in one transaction.
struct SubmitReports: Sendable {
    let database: AppDatabase
    let directory: ScopeDirectory
    let clock: AppClock
    /// Dropped after every submission, so the cockpit shows it at once.
    let cockpit: CockpitCache

    struct Input: Sendable {
        var campusId: Int
        var date: Day
        var report: JSONValue
        var correctionReason: String?

        static let maxCorrectionReason = 500

        /// A report as a mutation or a batch item carries it: `{campusId, date, report, correctionReason?}`.
        init(_ arguments: Arguments) throws {
            campusId = try arguments.positiveInteger("campusId")
            date = try arguments.day("date")
            guard case .object? = arguments.fields["report"] else { throw arguments.invalid("report", "must be the daily report object") }
            report = arguments.fields["report"]!
            correctionReason = try arguments.optionalText("correctionReason", maxLength: Self.maxCorrectionReason)
        }

        /// A report as `PUT /reports/{campusId}/{date}` carries it: the body is the report, and
        /// may hold the correction reason.
        init(campusId: Int, date: Day, body: JSONValue) throws {
            self.campusId = campusId
            self.date = date
            report = body
            if case .object(let fields) = body {
                correctionReason = try Arguments(fields, prefix: "").optionalText("correctionReason", maxLength: Self.maxCorrectionReason)
            }
        }
    }

    /// What became of one report.
    enum Outcome: Sendable, MutationOutcome {
        case judged(IngestionResult)
        /// Refused before judgement (unknown campus, outside the caller's scope).
        case refused(APIError)

        var mutationStatus: MutationStatus {
            switch self {
            case .refused(let error): return .rejected(error)
            case .judged(let result):
                switch result {
                case .accepted: return .applied()
                case .pendingApproval: return .applied(code: "pending_approval", message: "The correction waits for a district reporter's approval.")
                case .rejected(let findings):
                    return .rejected(
                        code: "report_rejected",
                        message: findings.filter { $0.severity == .error }.map { "\($0.field ?? "report"): \($0.message)" }.joined(separator: "; ")
                    )
                case .correctionReasonRequired: return .rejected(Self.correctionReasonRequired)
                case .unknownCampus: return .rejected(code: "campus_not_found", message: "There is no such campus.")
                }
            }
        }

        static let correctionReasonRequired = APIError(
            .unprocessableContent,
            code: "correction_reason_required",
            message: "A report for this day exists; a correction needs a correctionReason.",
            field: "correctionReason"
        )

        /// The audit row's result.
        var label: String {
            switch self {
            case .refused(let error): error.code
            case .judged(let result): result.label
            }
        }
    }

    /// One report (a PUT, a mutation): its outcome, with one `report_submit` audit row.
    func submit(_ input: Input, by caller: Caller, also: InTransaction<Outcome>? = nil) async throws -> Outcome {
        let outcome = try await run([input], by: caller) { tx, outcomes in
            let outcome = outcomes[0]
            try await also?(tx, outcome)
            return [caller.auditEntry("report_submit", target: "report:\(input.campusId)/\(input.date)", result: outcome.label, at: clock.now)]
        }[0]
        return outcome
    }

    /// Many reports (a backfill, a hospital system's catch-up), each judged on its own, with
    /// one `report_batch` audit row.
    func submitBatch(_ inputs: [Input?], by caller: Caller) async throws -> [Outcome?] {
        let present = inputs.compactMap { $0 }
        let outcomes = try await run(present, by: caller) { _, outcomes in
            let accepted = outcomes.count { if case .judged(let result) = $0 { result.isAccepted } else { false } }
            return [
                caller.auditEntry("report_batch", target: "reports:\(inputs.count)", result: "judged", detail: "accepted \(accepted)", at: clock.now)
            ]
        }
        var next = outcomes.makeIterator()
        return inputs.map { $0 == nil ? nil : next.next() }
    }

    /// Authorizes each input, judges and stores the admitted ones, and appends `audit`'s rows
    /// last (the audit head is locked until commit), all in one transaction.
    private func run(
        _ inputs: [Input],
        by caller: Caller,
        audit: @escaping @Sendable (Repositories, [Outcome]) async throws -> [AuditEntry]
    ) async throws -> [Outcome] {
        var outcomes = [Outcome?](repeating: nil, count: inputs.count)
        var submissions: [ReportSubmission] = []
        var positions: [Int] = []
        let now = clock.seconds
        for (index, input) in inputs.enumerated() {
            guard let path = try await directory.path(of: .campus(input.campusId)) else {
                outcomes[index] = .refused(APIError.notFound("campus_not_found", "There is no campus \(input.campusId)."))
                continue
            }
            guard caller.identity.may([.reporter], at: path) else {
                outcomes[index] = .refused(
                    APIError(.forbidden, code: "forbidden_scope", message: "Campus \(input.campusId) is outside your reporting scope.")
                )
                continue
            }
            submissions.append(
                ReportSubmission(
                    campusId: input.campusId,
                    date: input.date,
                    body: input.report,
                    correctionReason: input.correctionReason,
                    submittedBy: caller.identity.accountId,
                    submittedAt: now,
                    submitterMayApprove: Self.mayApprove(caller.identity, at: path)
                )
            )
            positions.append(index)
        }
        let decided = outcomes
        let admitted = submissions
        let admittedPositions = positions
        let today = Day(shanghaiTimeOf: now)
        let result = try await database.write { tx in
            var outcomes = decided
            for (position, judged) in zip(admittedPositions, try await tx.ingestion.ingest(admitted, today: today, now: now)) {
                outcomes[position] = .judged(judged)
            }
            let all = outcomes.map { $0! }
            try await tx.audit.append(try await audit(tx, all))
            return all
        }
        cockpit.invalidate()
        return result
    }

    /// A reporter whose scope is the campus's district (or the city) approves corrections after
    /// the lock date — the campus's own reporters may not approve their own.
    static func mayApprove(_ identity: Identity, at campus: ScopePath) -> Bool {
        identity.assignments.contains { assignment in
            guard assignment.role == .reporter else { return false }
            switch assignment.scope {
            case .city, .district: return assignment.scope.covers(campus)
            default: return false
            }
        }
    }
}
