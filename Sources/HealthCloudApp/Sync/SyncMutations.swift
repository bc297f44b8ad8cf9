import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import Synchronization

/// The named domain commands a device may push (SPEC.md §4–5), each a thin adapter over the
/// same command REST runs: its arguments read by the command's own rules, its result recorded in
/// the command's transaction, so a replay is answered from the record and never runs twice.
struct SyncMutations: Sendable {
    let database: AppDatabase
    /// Every feature's mutations, by name.
    let handlers: [SyncMutationName: SyncMutation]
    let clock: AppClock

    /// Rejections that mean the world changed under the client's intent: also kept as a
    /// `syncConflicts` record the device can show after it forgot the push answer.
    static let conflictCodes: Set<String> = ["already_acknowledged", "already_resolved", "report_rejected", "correction_reason_required"]

    struct Context: Sendable {
        let mutation: Mutation
        let clientId: String
        let caller: Caller
        let now: Int64
    }

    func run(_ mutation: Mutation, clientId: String, identity: Identity, context requestContext: AppRequestContext) async -> MutationResult {
        let caller = Caller(identity, context: requestContext, channel: .sync(clientId: clientId, mutationId: mutation.id))
        let context = Context(mutation: mutation, clientId: clientId, caller: caller, now: clock.seconds)
        do {
            guard let handler = SyncMutationName(rawValue: mutation.name).flatMap({ handlers[$0] }) else {
                return try await reject(
                    context,
                    code: "unknown_mutation",
                    message: "\(mutation.name) is not a mutation; use \(SyncMutationName.allCases.map(\.rawValue).joined(separator: ", "))."
                )
            }
            let arguments = try Arguments(object: mutation.args, field: "args", prefix: "args.")
            let status = try await handler.run(arguments, caller, recorder(context))
            return Self.result(mutation.id, status)
        } catch let error as APIError {
            // A client mistake (bad arguments, no right to do it): rejected for good, alone.
            do {
                return try await reject(context, code: error.code, message: error.message)
            } catch {
                return Self.retry(mutation)
            }
        } catch DatabaseError.uniqueViolation {
            // The same mutation pushed twice at once: the other push recorded it; answer with that.
            if let stored = try? await database.sync.storedResults(clientId: clientId, accountId: identity.accountId, ids: [mutation.id])[mutation.id]
            {
                return MutationResult(
                    id: mutation.id,
                    status: MutationResult.Status(rawValue: stored.status) ?? .rejected,
                    code: stored.code,
                    message: stored.message
                )
            }
            return Self.retry(mutation)
        } catch {
            return Self.retry(mutation)
        }
    }

    static func result(_ id: Int64, _ status: MutationStatus) -> MutationResult {
        switch status {
        case .applied(let code, let message): MutationResult(id: id, status: .applied, code: code, message: message)
        case .rejected(let code, let message): MutationResult(id: id, status: .rejected, code: code, message: message)
        }
    }

    static func retry(_ mutation: Mutation) -> MutationResult {
        MutationResult(
            id: mutation.id,
            status: .retry,
            code: "temporarily_unavailable",
            message: "The server could not apply this now; push it again later."
        )
    }

    /// The command's in-transaction hook: records the mutation's result with its effects.
    func recorder(_ context: Context) -> MutationRecorder {
        MutationRecorder { tx, status in try await Self.record(tx, context, Self.result(context.mutation.id, status)) }
    }

    /// Records a result in `tx` (the transaction of the effects, if any).
    static func record(_ tx: Repositories, _ context: Context, _ result: MutationResult) async throws {
        let account = context.caller.identity.accountId
        try await tx.sync.recordMutation(
            clientId: context.clientId,
            accountId: account,
            id: context.mutation.id,
            name: context.mutation.name,
            bodyDigest: context.mutation.bodyDigest,
            status: result.status.rawValue,
            code: result.code,
            message: result.message,
            now: context.now
        )
        if result.status == .rejected, let code = result.code, conflictCodes.contains(code) {
            // Keyed and addressed by account and device: a device id alone is anyone's to claim.
            try await tx.sync.put(
                [
                    .init(
                        collection: SyncCollection.syncConflicts.name,
                        id: "\(account):\(context.clientId):\(context.mutation.id)",
                        audience: .client(context.clientId, accountId: account),
                        data: .object([
                            "mutationId": .integer(context.mutation.id), "name": .string(context.mutation.name),
                            "code": .string(code), "message": .string(result.message ?? ""),
                        ])
                    )
                ],
                now: context.now
            )
        }
    }

    func reject(_ context: Context, code: String, message: String) async throws -> MutationResult {
        let result = MutationResult(id: context.mutation.id, status: .rejected, code: code, message: message)
        try await database.write { tx in try await Self.record(tx, context, result) }
        return result
    }
}
