import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird
import Logging

/// Turns `Authorization: Bearer <access token>` into an ``Identity``, or a distinct 401:
/// `unauthenticated` (no token), `token_invalid`, `token_expired` (refresh and retry),
/// `session_expired` / `session_revoked` (sign in again).
public struct Authenticator: Sendable {
    let database: AppDatabase
    let clock: AppClock
    let audit: AuditTrail
    /// Recently verified tokens (nil: every request reads the session).
    let cache: SessionCache?
    static let touchGranularity: Int64 = 60

    func authenticate(_ request: Request, context: AppRequestContext) async throws -> Identity {
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw APIError(
                .unauthorized,
                code: "unauthenticated",
                message: "Sign in first: send Authorization: Bearer <access token>.",
                headers: [.wwwAuthenticate: "Bearer"]
            )
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let now = clock.seconds
        let tokenHash = DataProtection.tokenHash(token)
        let lookup: SessionRepository.AccessLookup
        let stored: [IdentityRepository.StoredAssignment]
        if let cached = cache?.entry(tokenHash) {
            (lookup, stored) = (cached.lookup, cached.assignments)
        } else {
            guard let found = try await database.identity.lookupAccess(tokenHash: tokenHash) else {
                throw APIError(
                    .unauthorized,
                    code: "token_invalid",
                    message: "The access token is not valid.",
                    headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""]
                )
            }
            (lookup, stored) = found
            // Only a live session is worth remembering; broken seals are re-read (and audited) every time.
            if found.0.session.revokedAt == nil, stored.allSatisfy(\.intact) {
                cache?.store(tokenHash, SessionCache.Entry(lookup: found.0, assignments: found.1, stored: .now))
            }
        }
        if lookup.tokenExpiresAt <= now {
            throw APIError(
                .unauthorized,
                code: "token_expired",
                message: "The access token has expired; refresh it.",
                headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""]
            )
        }
        let session = lookup.session
        do {
            try IdentityService.checkSessionAlive(session, now: now)
        } catch let error as APIError {
            if session.revokedAt == nil {
                try await database.sessions.revokeSession(id: session.id, reason: "expired", now: now)
            }
            throw error
        }
        // The idle clock moves at minute granularity: most requests need no write at all.
        if now - session.lastSeenAt >= Self.touchGranularity {
            try await database.sessions.touch(sessionId: session.id, now: now, granularity: Self.touchGranularity)
            cache?.touched(tokenHash, at: now)
        }
        for broken in stored where !broken.intact {
            context.logger.critical("role assignment seal broken", metadata: ["assignment": .stringConvertible(broken.id)])
            try await audit.record(
                "integrity_violation",
                target: "role_assignment:\(broken.id)",
                result: "refused",
                context: context,
                actor: session.accountId,
                detail: "HMAC-SM3 seal does not match the row"
            )
        }
        return Identity(
            accountId: session.accountId,
            accountKind: lookup.accountKind,
            displayName: lookup.displayName,
            sessionId: session.id,
            sessionExpiresAt: session.expiresAt,
            idleTimeoutSeconds: session.idleTimeoutSeconds,
            assignments: stored.filter(\.intact).map(\.assignment)
        )
    }
}
