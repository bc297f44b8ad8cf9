import HealthCloudStorage
import HealthCloudSync
import Logging
import ServiceLifecycle

/// Offline-first sync (SyncProtocol/SPEC.md): pull, push and the live socket's fallback, the
/// mutations every other feature declares, and the purge of old tombstones.
struct SyncFeature: Feature {
    let context: FeatureContext
    let handlers: [SyncMutationName: SyncMutation]

    /// `others`: the features whose mutations a push may carry.
    init(_ context: FeatureContext, others: [any Feature]) {
        self.context = context
        handlers = others.reduce(into: [:]) { all, feature in
            all.merge(feature.mutations) { first, _ in
                preconditionFailure("two features declare the same sync mutation")
            }
        }
    }

    func addRoutes(root: Routes, api: Routes) {
        SyncController(
            database: context.database,
            directory: context.directory,
            clock: context.clock,
            cockpit: context.cockpitCache,
            homes: context.dependencies.cockpitService,
            mutations: SyncMutations(database: context.database, handlers: handlers, clock: context.clock),
            live: context.live
        ).addRoutes(to: api)
    }

    func services(logger: Logger) -> [any Service] {
        [
            PeriodicService.tombstonePurge(
                sync: context.database.sync,
                clock: context.clock,
                horizonDays: context.configuration.syncTombstoneDays,
                logger: logger
            )
        ]
    }
}
