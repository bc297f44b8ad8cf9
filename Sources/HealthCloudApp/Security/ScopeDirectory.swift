import Logging
import HTTPTypes
import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Synchronization

/// Resolves a scope to its place in the hierarchy (campus → institution → district), with a
/// cache: the hierarchy changes rarely and every scoped request asks.
public final class ScopeDirectory: Sendable {
    private let database: AppDatabase
    private let cache = Mutex<[Scope: ScopePath]>([:])

    public init(database: AppDatabase) {
        self.database = database
    }

    /// Nil when the scope names nothing that exists.
    public func path(of scope: Scope) async throws -> ScopePath? {
        if let cached = cache.withLock({ $0[scope] }) { return cached }
        let path: ScopePath?
        let db = database.database
        switch scope {
        case .city:
            path = .city
        case .district(let code):
            path = try await db.first("SELECT code FROM districts WHERE code = $1", [.text(code)]).map { _ in ScopePath(districtCode: code) }
        case .institution(let id):
            path = try await db.first("SELECT district_code FROM institutions WHERE id = $1", [.integer(Int64(id))])
                .map { ScopePath(districtCode: try $0.string("district_code"), institutionId: id) }
        case .campus(let id):
            path = try await db.first("SELECT district_code, institution_id FROM campuses WHERE id = $1", [.integer(Int64(id))])
                .map { ScopePath(districtCode: try $0.string("district_code"), institutionId: try $0.int("institution_id"), campusId: id) }
        case .site(let id):
            path = try await db.first("""
                SELECT c.district_code, c.institution_id, c.id AS campus_id FROM sites s JOIN campuses c ON c.id = s.campus_id WHERE s.id = $1
                """, [.integer(Int64(id))])
                .map { ScopePath(districtCode: try $0.string("district_code"), institutionId: try $0.int("institution_id"),
                                 campusId: try $0.int("campus_id"), siteId: id) }
        case .patient(let id):
            path = ScopePath(patientId: id)
        }
        if let path { cache.withLock { $0[scope] = path } }
        return path
    }
}
