import HealthCloudStorage
import Logging

extension PeriodicService {
    /// Signs the audit log's head every few minutes and once more at shutdown. Rows after the
    /// last signed checkpoint are protected by the chain only: a DBA who cuts the tail and
    /// rewrites the head could hide them, so the window is kept short.
    static func auditCheckpoints(audit: AuditLog, clock: AppClock, interval: Duration, logger: Logger) -> PeriodicService {
        PeriodicService(name: "audit checkpoint", interval: interval, runsAtShutdown: true, logger: logger) {
            try await audit.checkpoint(at: clock.now)
        }
    }
}
