import Foundation
import HealthCloudDomain
import HealthCloudStorage

/// A patient cancels a booking: the seat, the pass's record and the notification, with the
/// `appointment_cancel` audit row, commit together.
struct CancelAppointment: Sendable {
    let database: AppDatabase
    let clock: AppClock

    func run(appointmentId id: Int, by caller: Caller) async throws -> AppointmentRepository.CancelOutcome {
        let patientId = try caller.identity.requirePatientId()
        let now = clock.seconds
        let entryTime = clock.now
        return try await database.write { tx in
            let outcome = try await tx.appointments.cancel(id: id, patientId: patientId, now: now)
            if case .cancelled = outcome {
                try await tx.audit.append(caller.auditEntry("appointment_cancel", target: "appointment:\(id)", result: "success", at: entryTime))
            }
            return outcome
        }
    }
}
