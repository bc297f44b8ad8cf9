import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// The first step of the journey: the questionnaire, the triage rules, and a patient's
/// pre-checks with the sites they are sent to.
struct PreCheckController {
    let database: AppDatabase
    let service: PreCheckService
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

    struct Location: Decodable {
        var lat: Double
        var lng: Double
    }

    struct Submission: Decodable {
        var questionnaireVersion: Int
        var answers: [String: JSONValue]
        var location: Location?
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

    /// A location the patient shares: both coordinates, on Earth.
    static func location(_ location: Location?, field: String = "location") throws -> (lat: Double, lng: Double)? {
        guard let location else { return nil }
        guard (-90...90).contains(location.lat) else {
            throw APIError(.badRequest, code: "invalid_field", message: "\(field).lat must be between -90 and 90.", field: "\(field).lat")
        }
        guard (-180...180).contains(location.lng) else {
            throw APIError(.badRequest, code: "invalid_field", message: "\(field).lng must be between -180 and 180.", field: "\(field).lng")
        }
        return (location.lat, location.lng)
    }

    @Sendable func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let patientId = try context.requireIdentity().requirePatientId()
        let body = try await JSONBody.decode(Submission.self, from: request, context: context)
        let now = clock.seconds
        switch try service.evaluate(
            patientId: patientId,
            version: body.questionnaireVersion,
            answers: body.answers,
            location: try Self.location(body.location)
        ) {
        case .failure(let invalid):
            return try invalid.response()
        case .success(let new):
            let precheck = try await database.prechecks.insert(new, now: now)
            return try JSONResponse.encode(Answer(precheck, sites: try await service.recommendations(for: precheck, now: now)), status: .created)
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

extension Identity {
    /// The patient this account is (its `patient:ID` scope), or 403 for staff.
    func requirePatientId() throws -> Int {
        for assignment in assignments where assignment.role == .patient {
            if case .patient(let id) = assignment.scope { return id }
        }
        throw APIError(.forbidden, code: "forbidden_role", message: "Only patients do this.")
    }
}
