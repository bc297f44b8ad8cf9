import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird
import Logging

/// Enforces each route's declared ``Access`` before its handler runs: 401 without a valid
/// session, 403 `forbidden_role` for a role the route does not admit, 403 `forbidden_scope`
/// when the target lies outside every scope the caller holds, and 403 `route_not_declared`
/// for a route nobody declared.
struct AuthorizationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let registry: AccessRegistry
    let authenticator: Authenticator
    let directory: ScopeDirectory
    /// Where refusals (403) are audited, the middleware's own and the handlers'.
    var refusals: RefusalAudit?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Any state-changing request may sign out, rotate or revoke a session or change roles:
        // remembered sessions are forgotten when it is done, whatever its outcome.
        if request.method != .get && request.method != .head, let cache = authenticator.cache {
            defer { cache.invalidateAll() }
            return try await authorize(request, context: context, next: next)
        }
        return try await authorize(request, context: context, next: next)
    }

    private func authorize(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let endpoint = context.endpointPath, endpoint != "NotFound" else {
            return try await next(request, context)
        }
        guard let access = registry.access(method: request.method, path: endpoint) else {
            context.logger.error("route has no access declaration", metadata: ["route": .string("\(request.method) \(endpoint)")])
            throw APIError(.forbidden, code: "route_not_declared", message: "This route has no access declaration and is refused.")
        }
        switch access {
        case .open:
            return try await next(request, context)
        case .authenticated:
            var context = context
            let identity = try await authenticator.authenticate(request, context: context)
            context.identity = identity
            return try await auditingRefusals(request, endpoint: endpoint, identity: identity, context: context) {
                try await next(request, context)
            }
        case .roles(let roles, let rule):
            var context = context
            let identity = try await authenticator.authenticate(request, context: context)
            context.identity = identity
            return try await auditingRefusals(request, endpoint: endpoint, identity: identity, context: context) {
                guard !identity.roles.isDisjoint(with: roles) else {
                    throw APIError(
                        .forbidden,
                        code: "forbidden_role",
                        message: "This action needs the role \(roles.sorted().map(\.rawValue).joined(separator: " or "))."
                    )
                }
                if let target = try await rule.target(request, context, directory) {
                    guard identity.may(roles, at: target) else {
                        throw APIError(.forbidden, code: "forbidden_scope", message: "This is outside the scopes you hold.")
                    }
                }
                return try await next(request, context)
            }
        }
    }

    /// Runs `body`; a 403 it throws (this middleware's or a handler's) is audited, then thrown on.
    private func auditingRefusals(
        _ request: Request,
        endpoint: String,
        identity: Identity,
        context: Context,
        _ body: () async throws -> Response
    ) async throws -> Response {
        do {
            return try await body()
        } catch let error as APIError where error.status == .forbidden {
            try await refusals?.refused(error, route: "\(request.method) \(endpoint)", identity: identity, context: context)
            throw error
        }
    }
}
