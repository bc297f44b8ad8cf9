import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage

/// A leader of a warning's scope acknowledges it ("we are on it") or resolves it, with a
/// note — `POST /warnings/{id}/ack|resolve` and the `acknowledgeWarning` mutation alike. The
/// change, its audit row and a mutation's record commit in one transaction.
struct DecideWarning: Sendable {
    let database: AppDatabase
    let directory: ScopeDirectory
    let clock: AppClock
    let cockpit: CockpitCache

    enum Action: String, Sendable {
        case acknowledge = "warning_ack"
        case resolve = "warning_resolve"
    }

    struct Input: Sendable {
        var warningId: Int
        var note: String

        static func note(_ arguments: Arguments) throws -> String {
            try arguments.text("note", maxLength: 500, purpose: "say what is being done")
        }

        init(warningId: Int, note: String) {
            self.warningId = warningId
            self.note = note
        }

        /// `{warningId, note}`, as a mutation carries them.
        init(_ arguments: Arguments) throws {
            warningId = try arguments.positiveInteger("warningId")
            note = try Self.note(arguments)
        }
    }

    enum Outcome: Sendable, MutationOutcome {
        case done(WarningRepository.Warning)
        case refused(APIError)

        var mutationStatus: MutationStatus {
            switch self {
            case .done: .applied()
            case .refused(let error): .rejected(error)
            }
        }
    }

    func run(_ action: Action, _ input: Input, by caller: Caller, also: InTransaction<Outcome>? = nil) async throws -> Outcome {
        let id = input.warningId
        guard let scope = try await database.warnings.scope(ofWarning: id), let path = try await directory.path(of: scope) else {
            throw APIError.notFound("warning_not_found", "There is no warning \(id).")
        }
        guard caller.identity.may([.leader], at: path) else {
            throw APIError(.forbidden, code: "forbidden_scope", message: "Warning \(id) is outside the scopes you lead.")
        }
        let now = clock.seconds
        let entryTime = clock.now
        let outcome = try await database.write { tx -> Outcome in
            let change =
                switch action {
                case .acknowledge: try await tx.warnings.acknowledge(id: id, by: caller.identity.accountId, note: input.note, now: now)
                case .resolve: try await tx.warnings.resolve(id: id, by: caller.identity.accountId, note: input.note, now: now)
                }
            let outcome: Outcome =
                switch change {
                case .done(let warning): .done(warning)
                case .notFound: .refused(APIError.notFound("warning_not_found", "There is no warning \(id)."))
                case .alreadyAcknowledged:
                    .refused(
                        APIError(
                            .conflict,
                            code: "already_acknowledged",
                            message: "Warning \(id) is already acknowledged; it opens again if it escalates."
                        )
                    )
                case .alreadyResolved: .refused(APIError(.conflict, code: "already_resolved", message: "Warning \(id) is resolved."))
                }
            try await also?(tx, outcome)
            let result: String =
                switch outcome {
                case .done: "success"
                case .refused(let error): error.code
                }
            let detail: String =
                switch outcome {
                case .done(let warning): warning.scope
                case .refused: ""
                }
            try await tx.audit.append(caller.auditEntry(action.rawValue, target: "warning:\(id)", result: result, detail: detail, at: entryTime))
            return outcome
        }
        if case .done = outcome { cockpit.invalidate() }
        return outcome
    }
}
