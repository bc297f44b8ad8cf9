import Foundation
import HealthCloudDomain
import HealthCloudStorage

/// A doctor of the site grades a checked-in patient: the grading, the patient's records and
/// advice, and the `grading` audit row commit together.
struct GradePatient: Sendable {
    let database: AppDatabase
    let clock: AppClock

    func run(appointmentId id: Int, grade: PatientGrade, note: String?, by caller: Caller) async throws -> AppointmentRepository.GradingOutcome {
        let now = clock.seconds
        let entryTime = clock.now
        return try await database.write { tx in
            let outcome = try await tx.appointments.grade(appointmentId: id, grade: grade, note: note, by: caller.identity.accountId, now: now)
            if case .graded = outcome {
                try await tx.audit.append(
                    caller.auditEntry(
                        "grading",
                        target: "appointment:\(id)",
                        result: "success",
                        detail: "\(grade.rawValue) → \(grade.routing.rawValue)",
                        at: entryTime
                    )
                )
            }
            return outcome
        }
    }
}
