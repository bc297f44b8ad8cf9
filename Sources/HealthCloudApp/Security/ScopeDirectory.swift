import Logging
import HTTPTypes
import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Synchronization

/// Caches where each scope sits in the hierarchy (the organisation repository resolves it):
/// the hierarchy changes rarely and every scoped request asks.
public final class ScopeDirectory: Sendable {
    private let database: AppDatabase
    private let cache = Mutex<[Scope: ScopePath]>([:])

    public init(database: AppDatabase) {
        self.database = database
    }

    /// Nil when the scope names nothing that exists.
    public func path(of scope: Scope) async throws -> ScopePath? {
        if let cached = cache.withLock({ $0[scope] }) { return cached }
        let path = try await database.organisations.scopePath(of: scope)
        if let path { cache.withLock { $0[scope] = path } }
        return path
    }
}
