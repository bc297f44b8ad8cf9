import Foundation
import HTTPTypes
import HealthCloudDomain
import Logging

/// The authenticated caller of a request, set by the authorization middleware.
public struct Identity: Sendable, Equatable {
    public var accountId: Int
    public var accountKind: String
    public var displayName: String
    public var sessionId: String
    /// The session's absolute end (epoch seconds) and idle limit.
    public var sessionExpiresAt: Int64
    public var idleTimeoutSeconds: Int64
    /// The account's intact role assignments (rows whose seal failed are not here).
    public var assignments: [RoleAssignment]

    public var roles: Set<Role> { Set(assignments.map(\.role)) }

    /// Whether one of the caller's assignments with one of `roles` covers `path`.
    public func may(_ roles: Set<Role>, at path: ScopePath) -> Bool {
        assignments.contains { roles.contains($0.role) && $0.scope.covers(path) }
    }

    /// The audit label of the caller's role(s).
    public var roleLabel: String {
        roles.sorted().map(\.rawValue).joined(separator: ",")
    }
}
