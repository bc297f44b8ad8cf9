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

extension Identity {
    /// The patient this account is (its `patient:ID` scope), nil for staff.
    var patientId: Int? {
        for assignment in assignments where assignment.role == .patient {
            if case .patient(let id) = assignment.scope { return id }
        }
        return nil
    }

    /// The patient this account is, or 403 for staff.
    func requirePatientId() throws -> Int {
        guard let patientId else { throw APIError(.forbidden, code: "forbidden_role", message: "Only patients do this.") }
        return patientId
    }
}
