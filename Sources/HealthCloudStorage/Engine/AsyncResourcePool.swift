import Synchronization

/// A fixed set of resources lent out one at a time; borrowers wait (without blocking a
/// thread) when all are out. Used for SQLite connections, where the engine itself has no pool.
final class AsyncResourcePool<Resource: Sendable>: Sendable {
    private struct State {
        var idle: [Resource]
        var waiters: [CheckedContinuation<Resource, any Error>] = []
        var closed = false
    }

    private let state: Mutex<State>

    private enum Immediate {
        case resource(Resource)
        case closed, wait
    }

    init(_ resources: [Resource]) {
        self.state = Mutex(State(idle: resources))
    }

    func withResource<T>(_ body: (Resource) async throws -> T) async throws -> T {
        let resource = try await checkout()
        defer { checkin(resource) }
        return try await body(resource)
    }

    private func checkout() async throws -> Resource {
        let immediate: Immediate = state.withLock { state in
            if state.closed { return .closed }
            if let resource = state.idle.popLast() { return .resource(resource) }
            return .wait
        }
        switch immediate {
        case .resource(let resource): return resource
        case .closed: throw DatabaseError.closed
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                let resumeNow: Result<Resource, any Error>? = state.withLock { state in
                    if state.closed { return .failure(DatabaseError.closed) }
                    if let resource = state.idle.popLast() { return .success(resource) }
                    state.waiters.append(continuation)
                    return nil
                }
                if let resumeNow { continuation.resume(with: resumeNow) }
            }
        }
    }

    private func checkin(_ resource: Resource) {
        let waiter: CheckedContinuation<Resource, any Error>? = state.withLock { state in
            if state.waiters.isEmpty {
                state.idle.append(resource)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: resource)
    }

    /// Refuses new borrowers and returns the idle resources for disposal.
    func close() -> [Resource] {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.resume(throwing: DatabaseError.closed) }
        return idle
    }
}
