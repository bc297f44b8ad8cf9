import Synchronization

/// What storage keeps in memory between operations, shared by every repository of one
/// ``AppDatabase``: small, read on every report and rarely changed.
final class StorageCaches: Sendable {
    private let districtOfCampus = Mutex<[Int: String]?>(nil)

    /// Every campus with its district, read once and kept until organisations change.
    func districtOfCampus(load: () async throws -> [Int: String]) async throws -> [Int: String] {
        if let cached = districtOfCampus.withLock({ $0 }) { return cached }
        let loaded = try await load()
        districtOfCampus.withLock { $0 = loaded }
        return loaded
    }

    /// Organisations changed (here, or on another instance): the next read loads them again.
    func organisationsChanged() {
        districtOfCampus.withLock { $0 = nil }
    }
}
