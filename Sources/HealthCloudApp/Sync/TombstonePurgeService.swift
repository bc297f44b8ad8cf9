import HealthCloudStorage
import Logging

extension PeriodicService {
    /// Deletes sync tombstones older than the horizon every hour (SPEC.md §1); a device whose
    /// cursor predates a purged tombstone gets a reset instead of a silent replay.
    static func tombstonePurge(sync: SyncLog, clock: AppClock, horizonDays: Int, logger: Logger) -> PeriodicService {
        PeriodicService(name: "sync tombstone purge", interval: .seconds(3_600), logger: logger) {
            let purged = try await sync.purgeTombstones(before: clock.seconds - Int64(horizonDays) * 86_400)
            if purged > 0 { logger.info("sync tombstones purged", metadata: ["count": "\(purged)"]) }
        }
    }
}
