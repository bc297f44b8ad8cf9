import Foundation
import HTTPTypes
import HealthCloudDomain
import Hummingbird
import Logging
import Synchronization

/// Who may call a route. Every route declares one; a route without a declaration is refused
/// (deny by default), and a test walks the router to prove each has one.
public enum Access: Sendable {
    /// No authentication (health, public reference data, sign-in).
    case open
    /// Any valid session, whatever roles the account holds now (its own profile, sign-out):
    /// an account stripped of every role can still see that and leave.
    case authenticated
    /// An authenticated account holding one of `roles` in a scope that covers the target
    /// that `scope` resolves from the request.
    case roles(Set<Role>, scope: ScopeRule)

    public static func roles(_ roles: Role..., scope: ScopeRule = .any) -> Access {
        .roles(Set(roles), scope: scope)
    }
}

/// How a route finds the organisational place it acts on, so the middleware can compare it
/// with the caller's scopes before the handler runs.
public struct ScopeRule: Sendable {
    public let name: String
    /// Nil: the route does not act on one place (any scope of an allowed role will do).
    let target: @Sendable (Request, AppRequestContext, ScopeDirectory) async throws -> ScopePath?

    public init(name: String, target: @escaping @Sendable (Request, AppRequestContext, ScopeDirectory) async throws -> ScopePath?) {
        self.name = name
        self.target = target
    }

    public static let any = ScopeRule(name: "any") { _, _, _ in nil }

    /// The place named by a `scope` query parameter (`city`, `district:CODE`, `campus:ID`, …);
    /// when absent, the caller's own first scope.
    public static func queryParameter(_ name: String = "scope") -> ScopeRule {
        ScopeRule(name: "query:\(name)") { request, context, directory in
            guard let text = request.uri.queryParameters[Substring(name)].map(String.init) else {
                return nil
            }
            guard let scope = Scope(text) else {
                throw APIError.invalidParameter(name, "\(name) must be city, district:CODE, institution:ID, campus:ID or site:ID.")
            }
            guard let path = try await directory.path(of: scope) else {
                throw APIError.notFound("scope_not_found", "There is no \(scope).")
            }
            return path
        }
    }

    /// The campus named by a path parameter.
    public static func campusParameter(_ name: String) -> ScopeRule {
        ScopeRule(name: "campus:\(name)") { _, context, directory in
            let id = try RequestParameters.positiveInteger(name, in: context)
            guard let path = try await directory.path(of: .campus(id)) else {
                throw APIError.notFound("campus_not_found", "There is no campus \(id).")
            }
            return path
        }
    }
}

extension ScopeRule {
    /// The district of the campus named by a path parameter: only district- and city-level
    /// scopes cover it (a campus's own staff do not) — for second-person approvals.
    public static func districtOfCampusParameter(_ name: String) -> ScopeRule {
        ScopeRule(name: "district-of-campus:\(name)") { request, context, directory in
            guard let path = try await campusParameter(name).target(request, context, directory) else { return nil }
            return ScopePath(districtCode: path.districtCode)
        }
    }
}

/// The declarations of every route, keyed as Hummingbird reports the matched endpoint.
public final class AccessRegistry: Sendable {
    public struct Key: Hashable, Sendable {
        public var method: HTTPRequest.Method
        public var path: String
    }

    private let entries = Mutex<[Key: Access]>([:])

    public init() {}

    func declare(_ access: Access, method: HTTPRequest.Method, path: String) {
        entries.withLock { $0[Key(method: method, path: Self.normalize(path))] = access }
    }

    public func access(method: HTTPRequest.Method, path: String) -> Access? {
        entries.withLock { entries in
            let key = Key(method: method, path: Self.normalize(path))
            if let access = entries[key] { return access }
            // HEAD is generated from GET by the router and inherits its declaration.
            if method == .head { return entries[Key(method: .get, path: key.path)] }
            return nil
        }
    }

    public var declared: [Key: Access] { entries.withLock { $0 } }

    static func normalize(_ path: String) -> String {
        "/" + path.split(separator: "/").joined(separator: "/")
    }
}

/// Registers routes together with their access declaration.
public struct Routes {
    let router: Router<AppRequestContext>
    let prefix: String
    let registry: AccessRegistry

    public typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response

    public func group(_ path: String) -> Routes {
        Routes(router: router, prefix: prefix + "/" + path, registry: registry)
    }

    public func get(_ path: String, _ access: Access, use handler: @escaping Handler) { on(path, .get, access, handler) }
    public func post(_ path: String, _ access: Access, use handler: @escaping Handler) { on(path, .post, access, handler) }
    public func put(_ path: String, _ access: Access, use handler: @escaping Handler) { on(path, .put, access, handler) }
    public func delete(_ path: String, _ access: Access, use handler: @escaping Handler) { on(path, .delete, access, handler) }

    func on(_ path: String, _ method: HTTPRequest.Method, _ access: Access, _ handler: @escaping Handler) {
        let full = AccessRegistry.normalize(prefix + "/" + path)
        registry.declare(access, method: method, path: full)
        router.on(RouterPath(full), method: method, use: handler)
    }
}
