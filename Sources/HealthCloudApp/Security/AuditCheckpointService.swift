import HealthCloudStorage
import Logging
import ServiceLifecycle

/// Signs the audit log's head every few minutes and once more at shutdown. Rows after the
/// last signed checkpoint are protected by the chain only: a DBA who cuts the tail and
/// rewrites the head could hide them, so the window is kept short.
struct AuditCheckpointService: Service {
    let audit: AuditLog
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await sign()
            }
        }
        await sign()
    }

    private func sign() async {
        do {
            try await audit.checkpoint()
        } catch {
            logger.error("audit checkpoint failed", metadata: ["error": "\(error)"])
        }
    }
}
