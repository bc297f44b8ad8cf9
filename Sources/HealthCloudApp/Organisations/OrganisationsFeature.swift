import HealthCloudStorage
import Logging
import ServiceLifecycle

/// The hierarchy of districts, institutions, campuses and sites, and the listener that keeps
/// every instance's view of it current.
struct OrganisationsFeature: Feature {
    let context: FeatureContext

    init(_ context: FeatureContext) { self.context = context }

    func addRoutes(root: Routes, api: Routes) {
        OrganisationsController(repository: context.database.organisations).addRoutes(to: api)
    }

    func services(logger: Logger) -> [any Service] {
        [OrganisationChanges(database: context.database, directory: context.directory, logger: logger)]
    }
}
