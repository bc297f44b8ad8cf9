import Logging
import ServiceLifecycle

/// Work the server repeats on a timer for as long as it runs (purges, reminders, signatures):
/// the first run after one interval (at start the migrations may not have run yet), a failure
/// logged and retried at the next tick, and optionally one last run at shutdown.
struct PeriodicService: Service {
    /// Names the work in the failure log line: "<name> failed".
    let name: String
    let interval: Duration
    var runsAtShutdown = false
    let logger: Logger
    let work: @Sendable () async throws -> Void
    /// What runs at shutdown instead of `work`, when the last run must do more (write out
    /// what is still open).
    var finalWork: (@Sendable () async throws -> Void)? = nil

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                await once()
            }
        }
        if runsAtShutdown { await once(finalWork ?? work) }
    }

    private func once(_ work: (@Sendable () async throws -> Void)? = nil) async {
        do {
            try await (work ?? self.work)()
        } catch {
            logger.error("\(name) failed", metadata: ["error": "\(error)"])
        }
    }
}
