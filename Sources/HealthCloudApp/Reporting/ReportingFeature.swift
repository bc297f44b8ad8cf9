import HealthCloudStorage
import HealthCloudSync

/// Daily direct reporting with quality control: reports, batches, corrections and their
/// approval, the catalog and the QC rule table; the `submitReport` mutation.
struct ReportingFeature: Feature {
    let context: FeatureContext
    let submitReports: SubmitReports

    init(_ context: FeatureContext) {
        self.context = context
        submitReports = SubmitReports(database: context.database, directory: context.directory, clock: context.clock, cockpit: context.cockpitCache)
    }

    func addRoutes(root: Routes, api: Routes) {
        let (database, clock) = (context.database, context.clock)
        ReportsController(
            database: database,
            submitReports: submitReports,
            decideCorrection: DecideCorrection(database: database, directory: context.directory, clock: clock, cockpit: context.cockpitCache)
        ).addRoutes(to: api)
        QualityController(database: database, audit: context.audit, clock: clock).addRoutes(to: api)
    }

    var mutations: [SyncMutationName: SyncMutation] {
        let submitReports = submitReports
        return [
            .submitReport: SyncMutation { arguments, caller, record in
                try await submitReports.submit(.init(arguments), by: caller, also: record.hook()).mutationStatus
            }
        ]
    }
}
