import HealthCloudStorage
import Synchronization

/// Recently verified access tokens, so a burst of reads (a cockpit opening, a sync loop) does
/// not look the same session up for every request. An entry lives `lifetime` at most; every
/// state-changing request handled by this instance (sign-out, refresh, role changes,
/// revocations — all POST/PUT/DELETE) empties the cache when it finishes. A change made through
/// another instance, or behind the server's back, is therefore seen within `lifetime`.
final class SessionCache: Sendable {
    struct Entry: Sendable {
        var lookup: SessionRepository.AccessLookup
        var assignments: [IdentityRepository.StoredAssignment]
        let stored: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    let lifetime: Duration
    let capacity: Int

    init(lifetime: Duration, capacity: Int = 20_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    func entry(_ tokenHash: String) -> Entry? {
        entries.withLock { entries in
            guard let entry = entries[tokenHash] else { return nil }
            guard entry.stored.duration(to: .now) < lifetime else {
                entries[tokenHash] = nil
                return nil
            }
            return entry
        }
    }

    func store(_ tokenHash: String, _ entry: Entry) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[tokenHash] = entry
        }
    }

    /// The session was seen now (the idle clock moved): keep the cached copy in step.
    func touched(_ tokenHash: String, at seconds: Int64) {
        entries.withLock { $0[tokenHash]?.lookup.session.lastSeenAt = seconds }
    }

    func invalidateAll() {
        entries.withLock { $0.removeAll(keepingCapacity: true) }
    }
}
