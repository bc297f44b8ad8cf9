import HealthCloudStorage
import HealthCloudSync

/// A patient's notifications (they arrive through sync): marking one read, over REST and as
/// the `markNotificationRead` mutation.
struct NotificationsFeature: Feature {
    let context: FeatureContext
    let markRead: MarkNotificationRead

    init(_ context: FeatureContext) {
        self.context = context
        markRead = MarkNotificationRead(database: context.database, clock: context.clock)
    }

    func addRoutes(root: Routes, api: Routes) {
        NotificationsController(markRead: markRead).addRoutes(to: api)
    }

    var mutations: [SyncMutationName: SyncMutation] {
        let markRead = markRead
        return [
            .markNotificationRead: SyncMutation { arguments, caller, record in
                try await markRead.run(.init(arguments), by: caller, also: record.hook()).mutationStatus
            }
        ]
    }
}
