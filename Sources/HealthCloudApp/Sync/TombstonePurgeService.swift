import HealthCloudStorage
import Logging
import ServiceLifecycle

/// Deletes sync tombstones older than the horizon every hour (SPEC.md §1); a device whose
/// cursor predates a purged tombstone gets a reset instead of a silent replay.
struct TombstonePurgeService: Service {
    let sync: SyncLog
    let clock: AppClock
    let horizonDays: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // First after an hour: at start the migrations may not have run yet.
                try? await Task.sleep(for: .seconds(3_600))
                guard !Task.isCancelled else { return }
                do {
                    let purged = try await sync.purgeTombstones(before: clock.seconds - Int64(horizonDays) * 86_400)
                    if purged > 0 { logger.info("sync tombstones purged", metadata: ["count": "\(purged)"]) }
                } catch {
                    logger.error("sync tombstone purge failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
