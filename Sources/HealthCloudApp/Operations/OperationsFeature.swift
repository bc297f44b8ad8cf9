import HealthCloudStorage
import Logging
import ServiceLifecycle

/// Probes and metrics (`/healthz`, `/readyz`, `/metrics`), and the audit log's signed checkpoints.
struct OperationsFeature: Feature {
    let context: FeatureContext

    init(_ context: FeatureContext) { self.context = context }

    func addRoutes(root: Routes, api: Routes) {
        OperationsController(database: context.database, registry: PrometheusMetrics.registry, metricsToken: context.configuration.metricsToken)
            .addRoutes(to: root)
    }

    func services(logger: Logger) -> [any Service] {
        [
            PeriodicService.auditCheckpoints(
                audit: context.database.audit,
                clock: context.clock,
                interval: context.configuration.auditCheckpointInterval,
                logger: logger
            ),
            PeriodicService.refusalBursts(context.dependencies.refusals, logger: logger),
        ]
    }
}
