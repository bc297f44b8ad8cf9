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
    let submitReports: SubmitReports
    let decideCorrection: DecideCorrection

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

    @Sendable func put(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try Caller(context)
        let input = try SubmitReports.Input(
            campusId: try RequestParameters.positiveInteger("campusId", in: context),
            date: try Self.date(context),
            body: try await JSONBody.decode(JSONValue.self, from: request, context: context)
        )
        switch try await submitReports.submit(input, by: caller) {
        case .judged(let result): return try Self.response(for: result)
        case .refused(let error): throw error
        }
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
        let caller = try Caller(context)
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
        var inputs: [SubmitReports.Input?] = []
        for (index, item) in items.enumerated() {
            do {
                inputs.append(try SubmitReports.Input(try Arguments(object: item, field: "reports[\(index)]", prefix: "reports[\(index)].")))
            } catch let error as APIError {
                results[index] = BatchItemResult(status: "invalid", error: .init(code: error.code, message: error.message, field: error.field))
                inputs.append(nil)
            }
        }
        for (index, (input, outcome)) in zip(inputs, try await submitReports.submitBatch(inputs, by: caller)).enumerated() {
            guard let input, let outcome else { continue }
            var result = BatchItemResult(campusId: input.campusId, date: input.date.description, status: outcome.label)
            switch outcome {
            case .refused(let error):
                result.status = error.code == "forbidden_scope" ? "forbidden" : "invalid"
                result.error = .init(code: error.code, message: error.message, field: "reports[\(index)].campusId")
            case .judged(.accepted(let version, _, let findings, _)), .judged(.pendingApproval(let version, let findings)):
                result.version = version
                result.findings = findings
            case .judged(.rejected(let findings)):
                result.findings = findings
                let errors = findings.filter { $0.severity == .error }.count
                result.error = .init(code: "report_rejected", message: "\(errors) error\(errors == 1 ? "" : "s"); nothing was stored.", field: nil)
            case .judged(.correctionReasonRequired):
                result.error = .init(
                    code: "correction_reason_required",
                    message: "A correction needs a correctionReason.",
                    field: "reports[\(index)].correctionReason"
                )
            case .judged(.unknownCampus):
                result.error = .init(code: "campus_not_found", message: "There is no campus \(input.campusId).", field: "reports[\(index)].campusId")
            }
            results[index] = result
        }
        return try JSONResponse.encode(["results": results.compactMap { $0 }])
    }

    @Sendable func approve(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await decide(request, context: context, approve: true)
    }

    @Sendable func decline(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await decide(request, context: context, approve: false)
    }

    func decide(_ request: Request, context: AppRequestContext, approve: Bool) async throws -> Response {
        let input = DecideCorrection.Input(
            campusId: try RequestParameters.positiveInteger("campusId", in: context),
            date: try Self.date(context),
            version: try RequestParameters.positiveInteger("version", in: context),
            approve: approve
        )
        switch try await decideCorrection.run(input, by: try Caller(context)) {
        case .approved(let version): return try JSONResponse.encode(DecisionView(status: "approved", version: version))
        case .declined(let version): return try JSONResponse.encode(DecisionView(status: "declined", version: version))
        case .notPending:
            throw APIError.notFound(
                "version_not_pending",
                "Version \(input.version) of \(input.campusId)/\(input.date) is not waiting for approval."
            )
        case .supersededByNewer(let current):
            throw APIError(
                .conflict,
                code: "superseded_by_newer_version",
                message:
                    "Version \(current) is already current; approving version \(input.version) would roll the report back. Decline it instead."
            )
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
            throw SubmitReports.Outcome.correctionReasonRequired
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

    static func date(_ context: AppRequestContext) throws -> Day {
        guard let day = context.parameters.get("date").flatMap(Day.init) else {
            throw APIError.invalidParameter("date", "date must be a calendar date YYYY-MM-DD.")
        }
        return day
    }

    /// The stored body without the correction reason (shown separately with its version).
    static func strip(_ payload: JSONValue) -> JSONValue {
        guard case .object(var object) = payload else { return payload }
        object["correctionReason"] = nil
        return .object(object)
    }
}
