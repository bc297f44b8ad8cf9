import Foundation
import HTTPTypes
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird
import Logging

/// Credentials for hospital information systems that submit reports machine to machine: an
/// account holding the reporter role for one campus, with no password (it cannot sign in
/// interactively) and one long-lived bearer token, shown once. Revoking it ends the token.
struct SystemCredentialsController {
    let database: AppDatabase
    let directory: ScopeDirectory
    let audit: AuditTrail
    let clock: AppClock
    /// A system credential's token lives this long (rotate by issuing a new one).
    static let lifetime: Int64 = 365 * 24 * 3600

    func addRoutes(to api: Routes) {
        api.post("admin/system-credentials", .roles(.admin), use: create)
        api.delete("admin/system-credentials/{id}", .roles(.admin), use: revoke)
    }

    struct Body: Decodable {
        var campusId: Int
        var name: String
    }

    struct Issued: Encodable {
        var accountId: Int
        var username: String
        var scope: String
        var token: String
        var expiresAt: Date
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await JSONBody.decode(Body.self, from: request, context: context)
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard (1...60).contains(name.count) else {
            throw APIError(.badRequest, code: "invalid_field", message: "name must have 1 to 60 characters.", field: "name")
        }
        guard body.campusId >= 1, let path = try await directory.path(of: .campus(body.campusId)) else {
            throw APIError(.notFound, code: "campus_not_found", message: "There is no campus \(body.campusId).", field: "campusId")
        }
        guard identity.may([.admin], at: path) else {
            throw APIError(.forbidden, code: "forbidden_scope", message: "The campus is outside your admin scopes.")
        }
        let now = clock.seconds
        let username = "system.\(body.campusId).\(Hex.encode(SecureRandom.bytes(4)))"
        let accountId = try await database.identity.createStaff(
            username: username,
            displayName: name,
            passwordHash: "!system-credential",
            totpSecret: nil,
            totpConfirmed: false,
            assignments: [RoleAssignment(role: .reporter, scope: .campus(body.campusId))],
            now: now
        )
        let sessionId = Base64URL.encode(SecureRandom.bytes(18))
        try await database.sessions.createSession(
            id: sessionId,
            accountId: accountId,
            kind: "system",
            now: now,
            expiresAt: now + Self.lifetime,
            idleTimeout: 0,
            clientIP: context.clientIP
        )
        let token = "hcs_\(Base64URL.encode(SecureRandom.bytes(32)))"
        try await database.sessions.insertToken(
            hash: DataProtection.tokenHash(token),
            kind: .access,
            accountId: accountId,
            sessionId: sessionId,
            expiresAt: now + Self.lifetime,
            now: now
        )
        try await audit.record(
            "system_credential_issue",
            target: "account:\(accountId)",
            result: "success",
            context: context,
            detail: "reporter@campus:\(body.campusId) \(name)"
        )
        var response = try JSONResponse.encode(
            Issued(
                accountId: accountId,
                username: username,
                scope: Scope.campus(body.campusId).description,
                token: token,
                expiresAt: Date(timeIntervalSince1970: TimeInterval(now + Self.lifetime))
            ),
            status: .created
        )
        response.headers[.cacheControl] = "no-store"
        return response
    }

    @Sendable func revoke(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let accountId = try RequestParameters.positiveInteger("id", in: context)
        guard let account = try await database.identity.account(id: accountId), account.username?.hasPrefix("system.") == true else {
            throw APIError.notFound("credential_not_found", "There is no system credential \(accountId).")
        }
        let assignments = try await database.identity.assignments(accountId: accountId)
        for stored in assignments {
            guard let path = try await directory.path(of: stored.assignment.scope), identity.may([.admin], at: path) else {
                throw APIError(.forbidden, code: "forbidden_scope", message: "The credential's campus is outside your admin scopes.")
            }
        }
        try await database.sessions.revokeAllSessions(accountId: accountId, reason: "credential_revoked", now: clock.seconds)
        for stored in assignments { _ = try await database.identity.revoke(stored.assignment, from: accountId) }
        try await audit.record("system_credential_revoke", target: "account:\(accountId)", result: "success", context: context)
        return Response(status: .noContent)
    }
}
