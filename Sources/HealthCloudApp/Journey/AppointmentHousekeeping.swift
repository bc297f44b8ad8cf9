import HealthCloudStorage
import Logging

extension PeriodicService {
    /// Every minute: reminds patients two hours before their window, and releases bookings whose
    /// pass expired unused (no-shows) so the patient may book again that day.
    static func appointmentHousekeeping(appointments: AppointmentRepository, clock: AppClock, logger: Logger) -> PeriodicService {
        PeriodicService(name: "appointment housekeeping", interval: .seconds(60), logger: logger) {
            let now = clock.seconds
            let reminded = try await appointments.sendReminders(now: now)
            let released = try await appointments.releaseNoShows(patientId: nil, now: now)
            if reminded + released > 0 {
                logger.info("appointment housekeeping", metadata: ["reminded": "\(reminded)", "released": "\(released)"])
            }
        }
    }
}
