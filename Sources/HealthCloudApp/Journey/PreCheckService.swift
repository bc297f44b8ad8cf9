import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// Validates a pre-check, triages it with the rule table in force and stores it — for the REST
/// route and for the `submitPreCheck` mutation alike.
struct PreCheckService: Sendable {
    let database: AppDatabase
    let catalog: SiteCatalog
    var rules: TriageRuleTable = .standard

    enum Submission: Sendable {
        case accepted(PreCheckRepository.PreCheck)
        case invalid([Questionnaire.Problem])
    }

    /// The questionnaire a version names, or a 422 naming the versions there are.
    static func questionnaire(version: Int) throws -> Questionnaire {
        guard let questionnaire = PreCheck.questionnaires[version] else {
            throw APIError(
                .unprocessableContent,
                code: "questionnaire_version_unknown",
                message: "questionnaireVersion \(version) is unknown; the current version is \(PreCheck.current.version).",
                field: "questionnaireVersion"
            )
        }
        return questionnaire
    }

    /// Validates and triages; stores through `store` (the caller's transaction, for a mutation).
    func evaluate(
        patientId: Int,
        version: Int,
        answers: [String: JSONValue],
        location: (lat: Double, lng: Double)?
    ) throws -> Result<PreCheckRepository.NewPreCheck, InvalidAnswers> {
        let questionnaire = try Self.questionnaire(version: version)
        let problems = questionnaire.problems(answers)
        guard problems.isEmpty else { return .failure(InvalidAnswers(problems: problems)) }
        return .success(
            PreCheckRepository.NewPreCheck(
                patientId: patientId,
                questionnaireVersion: version,
                ruleTableVersion: rules.version,
                answers: answers,
                outcome: rules.triage(answers),
                latitude: location?.lat,
                longitude: location?.lng
            )
        )
    }

    func recommendations(for precheck: PreCheckRepository.PreCheck, now: Int64) async throws -> [SiteCatalog.View] {
        let location = precheck.latitude.flatMap { lat in precheck.longitude.map { (lat: lat, lng: $0) } }
        return try await catalog.ranked(kinds: precheck.level.bookableSites, location: location, limit: 5, now: now)
    }
}

/// Every problem of a pre-check's answers: 422 `invalid_answers`, the first item as `field`.
struct InvalidAnswers: Error, Sendable {
    let problems: [Questionnaire.Problem]

    var message: String {
        "The answers have \(problems.count) problem(s): " + problems.prefix(5).map(\.message).joined(separator: " ")
    }

    struct Body: Encodable {
        var error: APIError.ErrorBody.Detail
        var problems: [Questionnaire.Problem]
    }

    func response() throws -> Response {
        try JSONResponse.encode(
            Body(error: .init(code: "invalid_answers", message: message, field: "answers.\(problems[0].linkId)"), problems: problems),
            status: .unprocessableContent
        )
    }
}
