import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// The first step of the journey: the questionnaire, the triage rules, and a patient's
/// pre-checks with the sites they are sent to.
struct PreCheckController {
    let database: AppDatabase
    let service: PreCheckService
    let submitPreCheck: SubmitPreCheck
    let clock: AppClock

    func addRoutes(to api: Routes) {
        api.get("precheck/questionnaire", .open, use: questionnaire)
        api.get("precheck/triage-rules", .open, use: triageRules)
        api.post("prechecks", .roles(.patient), use: submit)
        api.get("prechecks/{id}", .roles(.patient, scope: precheckOwner), use: detail)
    }

    var precheckOwner: ScopeRule {
        let prechecks = database.prechecks
        return ScopeRule(name: "precheck:id") { _, context, _ in
            let id = try RequestParameters.positiveInteger("id", in: context)
            guard let precheck = try await prechecks.precheck(id: id) else {
                throw APIError.notFound("precheck_not_found", "There is no pre-check \(id).")
            }
            return ScopePath(patientId: precheck.patientId)
        }
    }

    @Sendable func questionnaire(_ request: Request, context: AppRequestContext) async throws -> Response {
        switch request.uri.queryParameters["format"].map(String.init) ?? "native" {
        case "native": return try JSONResponse.encode(PreCheck.current)
        case "fhir":
            var response = try JSONResponse.encode(PreCheck.current.fhir)
            response.headers[.contentType] = "application/fhir+json"
            return response
        default: throw APIError.invalidParameter("format", "format must be native or fhir.")
        }
    }

    @Sendable func triageRules(_ request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.encode(service.rules)
    }

    struct Answer: Encodable {
        var id: Int
        var questionnaireVersion: Int
        var ruleTableVersion: Int
        var level: TriageLevel
        var reasons: [TriageRuleTable.Reason]
        var advice: String
        var answers: [String: JSONValue]
        var recommendedSites: [SiteCatalog.View]
        var createdAt: Int64
        var validUntil: Int64

        init(_ precheck: PreCheckRepository.PreCheck, sites: [SiteCatalog.View]) {
            id = precheck.id
            questionnaireVersion = precheck.questionnaireVersion
            ruleTableVersion = precheck.ruleTableVersion
            level = precheck.level
            reasons = precheck.reasons
            advice = precheck.advice
            answers = precheck.answers
            recommendedSites = sites
            createdAt = precheck.createdAt
            validUntil = precheck.validUntil
        }
    }

    @Sendable func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try Caller(context)
        let body = try await JSONBody.decode(JSONValue.self, from: request, context: context)
        let input = try SubmitPreCheck.Input(try Arguments(object: body, field: "body", prefix: ""))
        switch try await submitPreCheck.run(input, by: caller) {
        case .invalid(let invalid):
            return try invalid.response()
        case .stored(let precheck):
            return try JSONResponse.encode(
                Answer(precheck, sites: try await service.recommendations(for: precheck, now: clock.seconds)),
                status: .created
            )
        }
    }

    @Sendable func detail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        guard let precheck = try await database.prechecks.precheck(id: id) else {
            throw APIError.notFound("precheck_not_found", "There is no pre-check \(id).")
        }
        return try JSONResponse.encode(Answer(precheck, sites: try await service.recommendations(for: precheck, now: clock.seconds)))
    }

}
