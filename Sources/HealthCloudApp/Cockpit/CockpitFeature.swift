import HealthCloudStorage

/// The leaders' decision cockpit: the home page, trends and rankings, and the H5 page.
struct CockpitFeature: Feature {
    let context: FeatureContext

    init(_ context: FeatureContext) { self.context = context }

    func addRoutes(root: Routes, api: Routes) {
        CockpitController(service: context.dependencies.cockpitService, cache: context.cockpitCache, clock: context.clock).addRoutes(
            to: root,
            api: api
        )
    }
}
