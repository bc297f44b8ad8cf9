import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// A patient read a notification — `POST /notifications/{id}/read` and the
/// `markNotificationRead` mutation alike. Idempotent: marking it again changes nothing. The
/// mark, its `notifications` record, its audit row and a mutation's record commit together.
struct MarkNotificationRead: Sendable {
    let database: AppDatabase
    let clock: AppClock

    struct Input: Sendable {
        var notificationId: Int

        init(notificationId: Int) { self.notificationId = notificationId }

        /// `{notificationId}`, as a mutation carries it.
        init(_ arguments: Arguments) throws {
            notificationId = try arguments.positiveInteger("notificationId")
        }
    }

    enum Outcome: Sendable, MutationOutcome {
        case read
        case refused(APIError)

        var mutationStatus: MutationStatus {
            switch self {
            case .read: .applied()
            case .refused(let error): .rejected(error)
            }
        }
    }

    func run(_ input: Input, by caller: Caller, also: InTransaction<Outcome>? = nil) async throws -> Outcome {
        guard let patientId = caller.identity.patientId else {
            throw APIError(.forbidden, code: "forbidden_role", message: "Only patients read notifications.")
        }
        let id = input.notificationId
        let now = clock.seconds
        let entryTime = clock.now
        let outcome = try await database.write { tx -> Outcome in
            let outcome: Outcome =
                switch try await tx.notifications.markRead(id: id, patientId: patientId, now: now) {
                case .marked, .alreadyRead: .read
                case .notFound: .refused(APIError.notFound("notification_not_found", "You have no notification \(id)."))
                }
            try await also?(tx, outcome)
            let result: String =
                switch outcome {
                case .read: "success"
                case .refused(let error): error.code
                }
            try await tx.audit.append(caller.auditEntry("notification_read", target: "notification:\(id)", result: result, at: entryTime))
            return outcome
        }
        return outcome
    }
}
