import HealthCloudStorage
import HealthCloudSync

/// Early warnings: listing, acknowledgement and resolution, the threshold table; the
/// `acknowledgeWarning` mutation.
struct WarningsFeature: Feature {
    let context: FeatureContext
    let decideWarning: DecideWarning

    init(_ context: FeatureContext) {
        self.context = context
        decideWarning = DecideWarning(database: context.database, directory: context.directory, clock: context.clock, cockpit: context.cockpitCache)
    }

    func addRoutes(root: Routes, api: Routes) {
        WarningsController(database: context.database, audit: context.audit, clock: context.clock, decideWarning: decideWarning).addRoutes(to: api)
    }

    var mutations: [SyncMutationName: SyncMutation] {
        let decideWarning = decideWarning
        return [
            .acknowledgeWarning: SyncMutation { arguments, caller, record in
                try await decideWarning.run(.acknowledge, .init(arguments), by: caller, also: record.hook()).mutationStatus
            }
        ]
    }
}
