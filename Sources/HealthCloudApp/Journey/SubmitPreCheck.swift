import Foundation
import HealthCloudDomain
import HealthCloudStorage

/// A patient's pre-check — `POST /prechecks` and the `submitPreCheck` mutation alike:
/// validated against the questionnaire version it names, triaged by the rule table in force,
/// stored with its `prechecks` record and its audit row (and a mutation's record) in one
/// transaction.
struct SubmitPreCheck: Sendable {
    let database: AppDatabase
    let service: PreCheckService
    let clock: AppClock

    struct Input: Sendable {
        var questionnaireVersion: Int
        var answers: [String: JSONValue]
        var location: (lat: Double, lng: Double)?

        /// `{questionnaireVersion, answers, location?}`. `decimalsAsStrings`: the answers come from
        /// a sync payload, where decimals travel as strings (SPEC.md §5), and are read back as numbers.
        init(_ arguments: Arguments, decimalsAsStrings: Bool = false) throws {
            questionnaireVersion = try arguments.positiveInteger("questionnaireVersion")
            answers = try arguments.object("answers", "an object of linkId → answer")
            location = try arguments.location("location")
            guard decimalsAsStrings else { return }
            let questionnaire = try PreCheckService.questionnaire(version: questionnaireVersion)
            for (linkId, value) in answers {
                guard case .string(let text) = value, let item = questionnaire.item(linkId), item.type == .decimal || item.type == .integer,
                    let number = Double(text), number.isFinite
                else { continue }
                answers[linkId] = .number(number)
            }
        }
    }

    enum Outcome: Sendable, MutationOutcome {
        case stored(PreCheckRepository.PreCheck)
        case invalid(InvalidAnswers)

        var mutationStatus: MutationStatus {
            switch self {
            case .stored(let precheck): .applied(message: "pre-check \(precheck.id): \(precheck.level.rawValue)")
            case .invalid(let invalid): .rejected(code: "invalid_answers", message: invalid.message)
            }
        }
    }

    func run(_ input: Input, by caller: Caller, also: InTransaction<Outcome>? = nil) async throws -> Outcome {
        let patientId = try caller.identity.requirePatientId()
        let evaluation = try service.evaluate(
            patientId: patientId,
            version: input.questionnaireVersion,
            answers: input.answers,
            location: input.location
        )
        let now = clock.seconds
        let entryTime = clock.now
        return try await database.write { tx in
            let outcome: Outcome
            let entry: AuditEntry
            switch evaluation {
            case .failure(let invalid):
                outcome = .invalid(invalid)
                entry = caller.auditEntry("precheck_submit", target: "patient:\(patientId)", result: "invalid_answers", at: entryTime)
            case .success(let new):
                let precheck = try await tx.prechecks.insert(new, now: now)
                outcome = .stored(precheck)
                entry = caller.auditEntry("precheck_submit", target: "precheck:\(precheck.id)", result: precheck.level.rawValue, at: entryTime)
            }
            try await also?(tx, outcome)
            try await tx.audit.append(entry)
            return outcome
        }
    }
}
