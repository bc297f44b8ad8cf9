import HealthCloudCrypto
import Synchronization

/// Encoded cockpit bodies. A home payload is the same for every leader allowed to read its
/// scope, so it is built, hashed and gzipped once and then served from memory until the data
/// changes: this instance drops the cache on every ingest and warning change; changes made
/// through another instance show within `lifetime` (the entry's age limit).
final class CockpitCache: Sendable {
    struct Body: Sendable {
        let json: [UInt8]
        let gzip: [UInt8]?
        /// Strong validator of the JSON bytes (SM3, first 16 bytes); the gzip body's is `…-gz"`.
        let etag: String
        let created: ContinuousClock.Instant

        init(json: [UInt8]) {
            self.json = json
            self.gzip = Gzip.compress(json)
            self.etag = "\"" + Hex.encode(SM3.hash(json).prefix(16)) + "\""
            self.created = .now
        }

        var gzipETag: String { String(etag.dropLast()) + "-gz\"" }
    }

    private let entries = Mutex<[String: Body]>([:])
    let lifetime: Duration
    let capacity: Int

    init(lifetime: Duration = .seconds(10), capacity: Int = 4_096) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func body(_ key: String) -> Body? {
        entries.withLock { entries in
            guard let body = entries[key] else { return nil }
            guard body.created.duration(to: .now) < lifetime else {
                entries[key] = nil
                return nil
            }
            return body
        }
    }

    func store(_ key: String, _ body: Body) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = body
        }
    }

    /// Data changed: every cached body may be stale.
    func invalidate() {
        entries.withLock { $0.removeAll(keepingCapacity: true) }
    }
}
