import HealthCloudDomain
import Hummingbird

/// A patient's notifications: marking one read (they arrive through sync, collection `notifications`).
struct NotificationsController {
    let markRead: MarkNotificationRead

    func addRoutes(to api: Routes) {
        api.post("notifications/{id}/read", .roles(.patient), use: read)
    }

    @Sendable func read(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        switch try await markRead.run(.init(notificationId: id), by: try Caller(context)) {
        case .read: return Response(status: .noContent)
        case .refused(let error): throw error
        }
    }
}
