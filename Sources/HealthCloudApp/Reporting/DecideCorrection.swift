import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage

/// Approving or declining a correction that waits after the lock date: a reporter of the
/// campus's district decides; the decision and its audit row commit together.
struct DecideCorrection: Sendable {
    let database: AppDatabase
    let directory: ScopeDirectory
    let clock: AppClock
    let cockpit: CockpitCache

    struct Input: Sendable {
        var campusId: Int
        var date: Day
        var version: Int
        var approve: Bool
    }

    func run(_ input: Input, by caller: Caller) async throws -> ReportIngestion.Decision {
        guard let path = try await directory.path(of: .campus(input.campusId)), SubmitReports.mayApprove(caller.identity, at: path) else {
            throw APIError(.forbidden, code: "forbidden_scope", message: "Approving a locked correction needs a reporter of the campus's district.")
        }
        let now = clock.seconds
        let entryTime = clock.now
        defer { cockpit.invalidate() }
        return try await database.write { tx in
            let decision = try await tx.ingestion.decide(
                campusId: input.campusId,
                date: input.date,
                version: input.version,
                approve: input.approve,
                by: caller.identity.accountId,
                now: now
            )
            try await tx.audit.append(
                caller.auditEntry(
                    input.approve ? "report_approve" : "report_decline",
                    target: "report:\(input.campusId)/\(input.date)/v\(input.version)",
                    result: "\(decision)",
                    at: entryTime
                )
            )
            return decision
        }
    }
}
