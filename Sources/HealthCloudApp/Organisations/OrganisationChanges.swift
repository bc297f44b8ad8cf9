import HealthCloudStorage
import Logging
import ServiceLifecycle

/// Hears that organisations changed on any instance (PostgreSQL LISTEN) and drops what this
/// one keeps of them: the scope directory's places and storage's campus map. On SQLite (one
/// process) it has nothing to hear and waits for shutdown (a service that returns would end
/// the application).
struct OrganisationChanges: Service {
    let database: AppDatabase
    let directory: ScopeDirectory
    let logger: Logger

    func run() async throws {
        guard database.engine == .postgresql else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await database.organisations.listenForChanges {
                        directory.invalidate()
                        database.organisationsChanged()
                    }
                    if Task.isCancelled { return }
                } catch {
                    logger.warning("organisation change listener failed; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}
