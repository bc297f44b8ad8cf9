import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import Logging
import Synchronization

/// Caches where each scope sits in the hierarchy (the organisation repository resolves it):
/// the hierarchy changes rarely and every scoped request asks.
public final class ScopeDirectory: Sendable {
    private let database: AppDatabase
    private let cache = Mutex<[Scope: ScopePath]>([:])
    private let campuses = Mutex<[Int: [Int]]>([:])

    public init(database: AppDatabase) {
        self.database = database
    }

    /// Organisations changed: every place is looked up again.
    public func invalidate() {
        cache.withLock { $0.removeAll() }
        campuses.withLock { $0.removeAll() }
    }

    /// Nil when the scope names nothing that exists.
    public func path(of scope: Scope) async throws -> ScopePath? {
        if let cached = cache.withLock({ $0[scope] }) { return cached }
        let path = try await database.organisations.scopePath(of: scope)
        if let path { cache.withLock { $0[scope] = path } }
        return path
    }

    /// What one role assignment may read, as the sync partitions it pulls: REST's rule
    /// (``Scope/covers(_:)``, behind every route's scope check and `Identity.may`) applied to
    /// the roots of the change log's paths, so a pull shows what the REST lists show. A record's
    /// path names district, campus and site but not the institution (`city/310115/12`): an
    /// institution reads the partitions of its own campuses — never its district's.
    public func readGrants(of assignment: RoleAssignment) async throws -> [SyncAudience] {
        guard let place = try await path(of: assignment.scope) else { return [] }
        var roots = [place]
        if case .institution(let id) = assignment.scope {
            roots = []
            for campus in try await campusIds(ofInstitution: id, districtCode: place.districtCode) {
                if let path = try await path(of: .campus(campus)) { roots.append(path) }
            }
        }
        return roots.filter { assignment.scope.covers($0) }.compactMap(SyncAudience.path(of:))
            .map { SyncAudience(role: assignment.role.rawValue, path: $0) }
    }

    /// The partitions of every assignment, sorted and without repeats (what pulls, long polls
    /// and live pokes filter by).
    public func readGrants(of assignments: [RoleAssignment]) async throws -> [SyncAudience] {
        var grants: Set<SyncAudience> = []
        for assignment in assignments { grants.formUnion(try await readGrants(of: assignment)) }
        return grants.sorted()
    }

    private func campusIds(ofInstitution id: Int, districtCode: String?) async throws -> [Int] {
        if let cached = campuses.withLock({ $0[id] }) { return cached }
        let ids = try await database.organisations.institutions(districtCode: districtCode).first { $0.id == id }?.campusIds ?? []
        if !ids.isEmpty { campuses.withLock { $0[id] = ids } }
        return ids
    }
}
