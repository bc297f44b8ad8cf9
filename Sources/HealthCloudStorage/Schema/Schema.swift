/// The product's schema: every feature's migrations, numbered across the whole product, one
/// per file in the `Migrations` folder of the feature's storage (`Reporting/Migrations/…`). A
/// feature adds its file and its line here; a migration, once released, never changes.
public enum Schema {
    static let migrations: [Migration] = [
        .organisationHierarchy,  // Organisations
        .demoSteps,  // Demo
        .identitySessionsAndAudit,  // Identity
        .dailyReporting,  // Reporting
        .rollupsAndWarnings,  // Cockpit
        .syncChangeLog,  // Sync
        .patientJourney,  // Journey
        .syncChangeTrigger,  // Sync
        .offlineScansByScan,  // Journey
        .syncHistoryEpoch,  // Sync
    ]
}
