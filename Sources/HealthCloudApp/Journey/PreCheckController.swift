import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// The first steps of the journey: the questionnaire, the triage, and the sites a patient
/// may go to with their free places.
struct PreCheckController {
    let database: AppDatabase
    let service: PreCheckService
    let catalog: SiteCatalog
    let clock: AppClock

    func addRoutes(to api: Routes) {
        api.get("precheck/questionnaire", .open, use: questionnaire)
        api.get("precheck/triage-rules", .open, use: triageRules)
        api.post("prechecks", .roles(.patient), use: submit)
        api.get("prechecks/{id}", .roles(.patient, scope: precheckOwner), use: detail)
        api.get("sites", .open, use: sites)
        api.get("sites/{id}/slots", .open, use: slots)
    }

    var precheckOwner: ScopeRule {
        let prechecks = database.prechecks
        return ScopeRule(name: "precheck:id") { _, context, _ in
            let id = try RequestParameters.positiveInteger("id", in: context)
            guard let precheck = try await prechecks.precheck(id: id) else { throw APIError.notFound("precheck_not_found", "There is no pre-check \(id).") }
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
        guard (-90...90).contains(location.lat) else { throw APIError(.badRequest, code: "invalid_field", message: "\(field).lat must be between -90 and 90.", field: "\(field).lat") }
        guard (-180...180).contains(location.lng) else { throw APIError(.badRequest, code: "invalid_field", message: "\(field).lng must be between -180 and 180.", field: "\(field).lng") }
        return (location.lat, location.lng)
    }

    @Sendable func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let patientId = try context.requireIdentity().requirePatientId()
        let body = try await JSONBody.decode(Submission.self, from: request, context: context)
        let now = clock.seconds
        switch try service.evaluate(patientId: patientId, version: body.questionnaireVersion, answers: body.answers, location: try Self.location(body.location)) {
        case .failure(let invalid):
            return try invalid.response()
        case .success(let new):
            let precheck = try await database.prechecks.insert(new, now: now)
            return try JSONResponse.encode(Answer(precheck, sites: try await service.recommendations(for: precheck, now: now)), status: .created)
        }
    }

    @Sendable func detail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        guard let precheck = try await database.prechecks.precheck(id: id) else { throw APIError.notFound("precheck_not_found", "There is no pre-check \(id).") }
        return try JSONResponse.encode(Answer(precheck, sites: try await service.recommendations(for: precheck, now: clock.seconds)))
    }

    struct SiteList: Encodable {
        var sites: [SiteCatalog.View]
    }

    @Sendable func sites(_ request: Request, context: AppRequestContext) async throws -> Response {
        let kinds: [SiteKind]
        switch request.uri.queryParameters["service"].map(String.init) ?? "all" {
        case "fever": kinds = [.feverClinic]
        case "sentinel": kinds = [.feverSentinel]
        case "all": kinds = [.feverClinic, .feverSentinel]
        default: throw APIError.invalidParameter("service", "service must be fever, sentinel or all.")
        }
        let latText = request.uri.queryParameters["lat"].map(String.init), lngText = request.uri.queryParameters["lng"].map(String.init)
        var location: (lat: Double, lng: Double)?
        switch (latText, lngText) {
        case (nil, nil): location = nil
        case (let lat?, let lng?):
            guard let latitude = Self.decimal(lat), (-90...90).contains(latitude) else { throw APIError.invalidParameter("lat", "lat must be a latitude between -90 and 90.") }
            guard let longitude = Self.decimal(lng), (-180...180).contains(longitude) else { throw APIError.invalidParameter("lng", "lng must be a longitude between -180 and 180.") }
            location = (latitude, longitude)
        case (nil, _): throw APIError.invalidParameter("lat", "lat and lng go together: lng was given without lat.")
        case (_, nil): throw APIError.invalidParameter("lng", "lat and lng go together: lat was given without lng.")
        }
        let district = request.uri.queryParameters["district"].map(String.init)
        if let district, !District.isWellFormedCode(district) { throw APIError.invalidParameter("district", "district must be a 6-digit district code.") }
        let limit = try RequestParameters.nonNegativeInteger("limit", in: request) ?? 20
        guard (1...100).contains(limit) else { throw APIError.invalidParameter("limit", "limit must be between 1 and 100.") }
        return try JSONResponse.encode(SiteList(sites: try await catalog.ranked(kinds: kinds, districtCode: district, location: location, limit: limit, now: clock.seconds)))
    }

    /// A plain decimal (`31.21`, `-0.5`): not hex, not `nan`, not an exponent.
    static func decimal(_ text: String) -> Double? {
        guard !text.isEmpty, text.count <= 32, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-") }) else { return nil }
        return Double(text).flatMap { $0.isFinite ? $0 : nil }
    }

    struct SlotView: Encodable {
        var id: Int
        var start: String
        var end: String
        var startsAt: Int64
        var endsAt: Int64
        var capacity: Int
        var booked: Int
        var free: Int
        var bookable: Bool
    }

    struct SlotList: Encodable {
        var siteId: Int
        var date: Day
        var slots: [SlotView]
    }

    @Sendable func slots(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        let now = clock.seconds
        let today = Day(shanghaiTimeOf: now)
        let day = try RequestParameters.day("date", in: request) ?? today
        guard day >= today, day - today <= 6 else { throw APIError.invalidParameter("date", "date must be between \(today) and \(today + 6).") }
        guard let site = try await catalog.site(id: id) else { throw APIError.notFound("site_not_found", "There is no site \(id).") }
        let slots = try await database.sites.slots(of: site, on: day)
        return try JSONResponse.encode(SlotList(siteId: id, date: day, slots: slots.map { slot in
            SlotView(id: slot.id, start: slot.start, end: slot.end, startsAt: slot.startsAt, endsAt: slot.endsAt, capacity: slot.capacity,
                     booked: slot.booked, free: slot.capacity - slot.booked, bookable: slot.endsAt > now && slot.booked < slot.capacity)
        }))
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
