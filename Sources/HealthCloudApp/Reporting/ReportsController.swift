import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird
import NIOCore

/// Daily direct reporting: a campus's reporter (or its hospital system's credential) puts
/// the report of a day; quality control judges it whole; corrections become new versions.
struct ReportsController {
    let database: AppDatabase
    let directory: ScopeDirectory
    let audit: AuditTrail
    let clock: AppClock
    /// Dropped after every accepted change, so the cockpit shows it at once.
    let cockpit: CockpitCache

    func addRoutes(to api: Routes) {
        api.put("reports/{campusId}/{date}", .roles(.reporter, scope: .campusParameter("campusId")), use: put)
        api.get("reports/{campusId}/{date}", .roles(.reporter, .leader, .admin, scope: .campusParameter("campusId")), use: get)
        api.post("reports:batch", .roles(.reporter), use: batch)
        api.post(
            "reports/{campusId}/{date}/versions/{version}/approve",
            .roles(.reporter, scope: .districtOfCampusParameter("campusId")),
            use: approve
        )
        api.post(
            "reports/{campusId}/{date}/versions/{version}/decline",
            .roles(.reporter, scope: .districtOfCampusParameter("campusId")),
            use: decline
        )
    }

    var today: Day { Day(shanghaiTimeOf: clock.seconds) }

    @Sendable func put(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let campusId = try RequestParameters.positiveInteger("campusId", in: context)
        let date = try Self.date(context)
        let body = try await JSONBody.decode(JSONValue.self, from: request, context: context)
        let reason = try Self.correctionReason(body, field: "correctionReason")
        let submission = ReportSubmission(
            campusId: campusId,
            date: date,
            body: body,
            correctionReason: reason,
            submittedBy: identity.accountId,
            submittedAt: clock.seconds,
            submitterMayApprove: try await mayApprove(identity, campusId: campusId)
        )
        let result = try await database.ingestion.ingest([submission], today: today, now: clock.seconds)[0]
        cockpit.invalidate()
        try await audit.record("report_submit", target: "report:\(campusId)/\(date)", result: Self.label(result), context: context)
        return try Self.response(for: result)
    }

    struct ReportView: Encodable {
        struct Current: Encodable {
            var version: Int
            var status: String
            var late: Bool
            var submittedAt: Date
            var report: JSONValue
            var findings: [Finding]
        }

        struct Version: Encodable {
            var version: Int
            var state: String
            var status: String
            var submittedAt: Date
            var submittedBy: Int?
            var correctionReason: String?
            var decidedBy: Int?
            var findings: [Finding]
        }

        var campusId: Int
        var date: Day
        var current: Current?
        var versions: [Version]
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let campusId = try RequestParameters.positiveInteger("campusId", in: context)
        let date = try Self.date(context)
        let versions = try await database.reports.versions(campusId: campusId, date: date)
        var current: ReportView.Current?
        if let stored = try await database.reports.current(campusId: campusId, date: date),
            let info = versions.first(where: { $0.version == stored.version }),
            let payload = try await database.reports.payload(campusId: campusId, date: date, version: stored.version)
        {
            current = .init(
                version: stored.version,
                status: stored.status,
                late: stored.late,
                submittedAt: Date(timeIntervalSince1970: TimeInterval(stored.submittedAt)),
                report: Self.strip(payload),
                findings: info.findings
            )
        }
        guard current != nil || !versions.isEmpty else {
            throw APIError.notFound("report_not_found", "Campus \(campusId) has no report for \(date).")
        }
        return try JSONResponse.encode(
            ReportView(
                campusId: campusId,
                date: date,
                current: current,
                versions: versions.map {
                    .init(
                        version: $0.version,
                        state: $0.state,
                        status: $0.status,
                        submittedAt: Date(timeIntervalSince1970: TimeInterval($0.submittedAt)),
                        submittedBy: $0.submittedBy,
                        correctionReason: $0.correctionReason,
                        decidedBy: $0.decidedBy,
                        findings: $0.findings
                    )
                }
            )
        )
    }

    struct BatchItemResult: Encodable {
        var campusId: Int?
        var date: String?
        var status: String
        var version: Int?
        var findings: [Finding]?
        var error: APIError.ErrorBody.Detail?
    }

    /// Many campus-days (backfills, a hospital system's catch-up), each judged on its own.
    @Sendable func batch(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await JSONBody.decode(JSONValue.self, from: request, context: context)
        guard case .object(let object) = body, case .array(let items) = object["reports"] ?? .null else {
            throw APIError(
                .badRequest,
                code: "invalid_field",
                message: "The body must be {\"reports\": [{campusId, date, report, correctionReason?}]}.",
                field: "reports"
            )
        }
        guard (1...1_000).contains(items.count) else {
            throw APIError(.badRequest, code: "invalid_field", message: "reports must hold 1 to 1000 items.", field: "reports")
        }
        var results = [BatchItemResult?](repeating: nil, count: items.count)
        var submissions: [ReportSubmission] = []
        var positions: [Int] = []
        let now = clock.seconds
        for (index, item) in items.enumerated() {
            func invalid(_ field: String, _ message: String) {
                results[index] = BatchItemResult(
                    status: "invalid",
                    error: .init(code: "invalid_field", message: message, field: "reports[\(index)].\(field)")
                )
            }
            guard case .object(let fields) = item else {
                results[index] = BatchItemResult(
                    status: "invalid",
                    error: .init(code: "invalid_field", message: "Each item must be an object.", field: "reports[\(index)]")
                )
                continue
            }
            guard case .integer(let rawCampus) = fields["campusId"] ?? .null, rawCampus >= 1, rawCampus < Int64(Int32.max) else {
                invalid("campusId", "campusId must be a positive integer.")
                continue
            }
            let campusId = Int(rawCampus)
            guard case .string(let dateText) = fields["date"] ?? .null, let date = Day(dateText) else {
                invalid("date", "date must be YYYY-MM-DD.")
                continue
            }
            guard let report = fields["report"] else {
                invalid("report", "report is required.")
                continue
            }
            var reason: String?
            if let value = fields["correctionReason"], value != .null {
                guard case .string(let text) = value, text.count <= 500 else {
                    invalid("correctionReason", "correctionReason must be a string of at most 500 characters.")
                    continue
                }
                reason = text
            }
            guard let path = try await directory.path(of: .campus(campusId)) else {
                results[index] = BatchItemResult(
                    campusId: campusId,
                    date: dateText,
                    status: "invalid",
                    error: .init(code: "campus_not_found", message: "There is no campus \(campusId).", field: "reports[\(index)].campusId")
                )
                continue
            }
            guard identity.may([.reporter], at: path) else {
                results[index] = BatchItemResult(
                    campusId: campusId,
                    date: dateText,
                    status: "forbidden",
                    error: .init(
                        code: "forbidden_scope",
                        message: "Campus \(campusId) is outside your reporting scope.",
                        field: "reports[\(index)].campusId"
                    )
                )
                continue
            }
            submissions.append(
                ReportSubmission(
                    campusId: campusId,
                    date: date,
                    body: report,
                    correctionReason: reason,
                    submittedBy: identity.accountId,
                    submittedAt: now,
                    submitterMayApprove: try await mayApprove(identity, campusId: campusId)
                )
            )
            positions.append(index)
        }
        let outcomes = try await database.ingestion.ingest(submissions, today: today, now: clock.seconds)
        cockpit.invalidate()
        for (position, (submission, outcome)) in zip(positions, zip(submissions, outcomes)) {
            var result = BatchItemResult(campusId: submission.campusId, date: submission.date.description, status: Self.label(outcome))
            switch outcome {
            case .accepted(let version, _, let findings, _):
                result.version = version
                result.findings = findings
            case .pendingApproval(let version, let findings):
                result.version = version
                result.findings = findings
            case .rejected(let findings):
                result.findings = findings
                let errors = findings.filter { $0.severity == .error }.count
                result.error = .init(code: "report_rejected", message: "\(errors) error\(errors == 1 ? "" : "s"); nothing was stored.", field: nil)
            case .correctionReasonRequired:
                result.error = .init(
                    code: "correction_reason_required",
                    message: "A correction needs a correctionReason.",
                    field: "reports[\(position)].correctionReason"
                )
            case .unknownCampus:
                result.error = .init(
                    code: "campus_not_found",
                    message: "There is no campus \(submission.campusId).",
                    field: "reports[\(position)].campusId"
                )
            }
            results[position] = result
        }
        try await audit.record(
            "report_batch",
            target: "reports:\(items.count)",
            result: "judged",
            context: context,
            detail: "accepted \(outcomes.count { $0.isAccepted })"
        )
        return try JSONResponse.encode(["results": results.compactMap { $0 }])
    }

    @Sendable func approve(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await decide(request, context: context, approve: true)
    }

    @Sendable func decline(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await decide(request, context: context, approve: false)
    }

    func decide(_ request: Request, context: AppRequestContext, approve: Bool) async throws -> Response {
        let identity = try context.requireIdentity()
        let campusId = try RequestParameters.positiveInteger("campusId", in: context)
        let date = try Self.date(context)
        let version = try RequestParameters.positiveInteger("version", in: context)
        guard try await mayApprove(identity, campusId: campusId) else {
            throw APIError(.forbidden, code: "forbidden_scope", message: "Approving a locked correction needs a reporter of the campus's district.")
        }
        defer { cockpit.invalidate() }
        let decision = try await database.ingestion.decide(
            campusId: campusId,
            date: date,
            version: version,
            approve: approve,
            by: identity.accountId,
            now: clock.seconds
        )
        try await audit.record(
            approve ? "report_approve" : "report_decline",
            target: "report:\(campusId)/\(date)/v\(version)",
            result: "\(decision)",
            context: context
        )
        switch decision {
        case .approved(let version): return try JSONResponse.encode(DecisionView(status: "approved", version: version))
        case .declined(let version): return try JSONResponse.encode(DecisionView(status: "declined", version: version))
        case .notPending: throw APIError.notFound("version_not_pending", "Version \(version) of \(campusId)/\(date) is not waiting for approval.")
        case .supersededByNewer(let current):
            throw APIError(
                .conflict,
                code: "superseded_by_newer_version",
                message: "Version \(current) is already current; approving version \(version) would roll the report back. Decline it instead."
            )
        }
    }

    /// A reporter whose scope is the campus's district (or the city) may approve corrections
    /// after the lock date — the campus's own reporters may not approve their own.
    func mayApprove(_ identity: Identity, campusId: Int) async throws -> Bool {
        guard let path = try await directory.path(of: .campus(campusId)) else { return false }
        return identity.assignments.contains { assignment in
            guard assignment.role == .reporter else { return false }
            switch assignment.scope {
            case .city: return true
            case .district: return assignment.scope.covers(path)
            default: return false
            }
        }
    }

    static func response(for result: IngestionResult) throws -> Response {
        switch result {
        case .accepted(let version, let status, let findings, let created):
            return try JSONResponse.encode(Outcome(status: status, version: version, findings: findings), status: created ? .created : .ok)
        case .pendingApproval(let version, let findings):
            return try JSONResponse.encode(Outcome(status: "pending_approval", version: version, findings: findings), status: .accepted)
        case .rejected(let findings):
            let errors = findings.filter { $0.severity == .error }
            return try JSONResponse.encode(
                Rejection(
                    error: .init(
                        code: "report_rejected",
                        message:
                            "The report has \(errors.count) error\(errors.count == 1 ? "" : "s"); nothing was stored. Fix them and send it again.",
                        field: errors.count == 1 ? errors[0].field : nil
                    ),
                    findings: findings
                ),
                status: .unprocessableContent
            )
        case .correctionReasonRequired:
            throw APIError(
                .unprocessableContent,
                code: "correction_reason_required",
                message: "A report for this day exists; a correction needs a correctionReason.",
                field: "correctionReason"
            )
        case .unknownCampus:
            throw APIError.notFound("campus_not_found", "There is no such campus.")
        }
    }

    struct DecisionView: Encodable {
        var status: String
        var version: Int
    }

    struct Outcome: Encodable {
        var status: String
        var version: Int
        var findings: [Finding]
    }

    struct Rejection: Encodable {
        var error: APIError.ErrorBody.Detail
        var findings: [Finding]
    }

    static func label(_ result: IngestionResult) -> String {
        switch result {
        case .accepted(_, let status, _, _): status
        case .pendingApproval: "pending_approval"
        case .rejected: "rejected"
        case .correctionReasonRequired: "correction_reason_required"
        case .unknownCampus: "campus_not_found"
        }
    }

    static func date(_ context: AppRequestContext) throws -> Day {
        guard let day = context.parameters.get("date").flatMap(Day.init) else {
            throw APIError.invalidParameter("date", "date must be a calendar date YYYY-MM-DD.")
        }
        return day
    }

    static func correctionReason(_ body: JSONValue, field: String) throws -> String? {
        guard case .object(let object) = body, let value = object["correctionReason"], value != .null else { return nil }
        guard case .string(let text) = value else {
            throw APIError(.badRequest, code: "invalid_field", message: "correctionReason must be a string.", field: field)
        }
        guard text.count <= 500 else {
            throw APIError(.badRequest, code: "invalid_field", message: "correctionReason must have at most 500 characters.", field: field)
        }
        return text
    }

    /// The stored body without the correction reason (shown separately with its version).
    static func strip(_ payload: JSONValue) -> JSONValue {
        guard case .object(var object) = payload else { return payload }
        object["correctionReason"] = nil
        return .object(object)
    }
}
