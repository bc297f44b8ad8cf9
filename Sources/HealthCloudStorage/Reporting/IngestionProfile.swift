import Foundation
import Synchronization

/// Where an ingest's time goes, phase by phase: set as the task's profile
/// (`IngestionProfile.$current.withValue(profile) { … }`) and every phase the ingest runs under
/// it adds its wall time. The benchmark prints it; without one, measuring costs a task-local read.
public final class IngestionProfile: Sendable {
    @TaskLocal public static var current: IngestionProfile?

    private let phases = Mutex<[(name: String, seconds: Double)]>([])

    public init() {}

    /// Runs `body` as the phase `name` of the current profile, if any.
    static func phase<T>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        guard let profile = current else { return try await body() }
        let start = ContinuousClock.now
        defer { profile.add(name, since: start) }
        return try await body()
    }

    /// Adds the time since `start` to the phase `name`.
    func add(_ name: String, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        phases.withLock { phases in
            if let index = phases.firstIndex(where: { $0.name == name }) {
                phases[index].seconds += seconds
            } else {
                phases.append((name, seconds))
            }
        }
    }

    /// The phases in the order they first ran, with their share of `total`.
    public func summary(total: Double) -> String {
        phases.withLock { phases in
            phases.map { "\($0.name) \(Int(($0.seconds * 1000).rounded())) ms (\(Int((100 * $0.seconds / max(total, 1e-9)).rounded())) %)" }
                .joined(separator: ", ")
        }
    }
}
