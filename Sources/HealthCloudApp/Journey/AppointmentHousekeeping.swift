import HealthCloudStorage
import Logging
import ServiceLifecycle

/// Every minute: reminds patients two hours before their window, and releases bookings whose
/// pass expired unused (no-shows) so the patient may book again that day.
struct AppointmentHousekeeping: Service {
    let appointments: AppointmentRepository
    let clock: AppClock
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // After a minute: at start the migrations may not have run yet.
                try? await Task.sleep(for: .seconds(60))
                guard !Task.isCancelled else { return }
                do {
                    let now = clock.seconds
                    let reminded = try await appointments.sendReminders(now: now)
                    let released = try await appointments.releaseNoShows(now: now)
                    if reminded + released > 0 {
                        logger.info("appointment housekeeping", metadata: ["reminded": "\(reminded)", "released": "\(released)"])
                    }
                } catch {
                    logger.error("appointment housekeeping failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
