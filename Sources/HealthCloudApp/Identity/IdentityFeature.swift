import HealthCloudStorage

/// Sign-in (patients by SMS code, staff by password and TOTP), sessions, the key set, staff
/// accounts and hospital systems' credentials, and in demo mode the dev sinks.
struct IdentityFeature: Feature {
    let context: FeatureContext
    let service: IdentityService

    init(_ context: FeatureContext) throws {
        self.context = context
        let configuration = context.configuration
        service = try IdentityService(
            database: context.database,
            policy: configuration.identity,
            clock: context.clock,
            sms: context.dependencies.sms,
            audit: context.audit,
            verifier: context.dependencies.verifier ?? (configuration.demo ? DevIdentityRegister() : UnconfiguredIdentityVerifier())
        )
    }

    func addRoutes(root: Routes, api: Routes) {
        let (database, audit, clock, directory) = (context.database, context.audit, context.clock, context.directory)
        KeysController(keys: database.protection.keys).addRoutes(to: api)
        AuthController(service: service, database: database, audit: audit).addRoutes(to: api)
        AdminAccountsController(database: database, directory: directory, audit: audit, clock: clock, hasher: service.hasher).addRoutes(to: api)
        SystemCredentialsController(database: database, directory: directory, audit: audit, clock: clock).addRoutes(to: api)
        if context.configuration.demo, let sink = context.dependencies.sms as? DevSMSSink {
            DevController(sink: sink, register: service.verifier as? DevIdentityRegister).addRoutes(to: api)
        }
    }
}
