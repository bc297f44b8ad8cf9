import Foundation
import HealthCloudDomain
import HealthCloudStorage

/// A kiosk checks a patient in with a verified pass, online (now) or offline (when it was
/// scanned): the check-in or its refusal, and its audit row, commit together.
struct CheckInPatient: Sendable {
    let database: AppDatabase
    let clock: AppClock

    /// An online scan: `refusal` names the outcomes that refuse it (their code is the audit result).
    func online(
        _ pass: VisitPassClaims,
        by caller: Caller,
        refusal: @escaping @Sendable (AppointmentRepository.CheckInOutcome) -> APIError?
    ) async throws -> AppointmentRepository.CheckInOutcome {
        let now = clock.seconds
        let entryTime = clock.now
        return try await database.write { tx in
            let outcome = try await tx.appointments.checkIn(pass, by: caller.identity.accountId, at: now, now: now)
            let entry: AuditEntry =
                if let refused = refusal(outcome) {
                    caller.auditEntry("checkin", target: "appointment:\(pass.appointmentId)", result: refused.code, at: entryTime)
                } else {
                    caller.auditEntry(
                        "checkin",
                        target: "appointment:\(pass.appointmentId)",
                        result: "success",
                        detail: "queue \(outcome.appointment?.queueNumber ?? 0)",
                        at: entryTime
                    )
                }
            try await tx.audit.append(entry)
            return outcome
        }
    }

    /// A scan made offline at `scannedAt`, once per (kiosk, pass, scan time): judged now with one
    /// `checkin_offline` audit row in its transaction (a repeated upload is answered from the
    /// record and adds none).
    func offline(
        _ pass: VisitPassClaims,
        scannedAt: Int64,
        index: Int,
        by caller: Caller,
        judge: @escaping @Sendable (AppointmentRepository.CheckInOutcome) -> (status: String, code: String?)
    ) async throws -> AppointmentRepository.OfflineResult {
        let entryTime = clock.now
        return try await database.appointments.reconcileOffline(
            pass,
            by: caller.identity.accountId,
            scannedAt: scannedAt,
            now: clock.seconds,
            judge: judge
        ) { result in
            caller.auditEntry(
                "checkin_offline",
                target: "appointment:\(pass.appointmentId)",
                result: result.status == "checked_in" ? "success" : (result.code ?? "rejected"),
                detail: "scan \(index) at \(scannedAt)" + (result.queueNumber.map { ", queue \($0)" } ?? ""),
                at: entryTime
            )
        }
    }
}

extension AppointmentRepository.CheckInOutcome {
    var appointment: AppointmentRepository.Appointment? {
        if case .checkedIn(let appointment) = self { appointment } else { nil }
    }
}
