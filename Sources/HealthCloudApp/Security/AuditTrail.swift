import HealthCloudStorage

/// Writes audit rows with the request's who/where filled in.
public struct AuditTrail: Sendable {
    let log: AuditLog
    let clock: AppClock

    func record(
        _ action: String,
        target: String,
        result: String,
        context: AppRequestContext,
        identity: Identity? = nil,
        actor: Int? = nil,
        role: String? = nil,
        detail: String = ""
    ) async throws {
        let who = identity ?? context.identity
        try await log.append(
            AuditEntry(
                at: Timestamp.iso8601(clock.now),
                actorAccount: who?.accountId ?? actor,
                actorRole: role ?? who?.roleLabel ?? "anonymous",
                action: action,
                target: target,
                result: result,
                clientIP: context.clientIP,
                requestID: context.requestID,
                detail: detail
            )
        )
    }

    /// Several rows of one request (one per appointment of an offline upload), written together.
    func record(_ rows: [(action: String, target: String, result: String, detail: String)], context: AppRequestContext) async throws {
        let who = context.identity
        let at = Timestamp.iso8601(clock.now)
        try await log.append(
            rows.map { row in
                AuditEntry(
                    at: at,
                    actorAccount: who?.accountId,
                    actorRole: who?.roleLabel ?? "anonymous",
                    action: row.action,
                    target: row.target,
                    result: row.result,
                    clientIP: context.clientIP,
                    requestID: context.requestID,
                    detail: row.detail
                )
            }
        )
    }
}
