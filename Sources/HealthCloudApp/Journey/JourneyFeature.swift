import HealthCloudStorage
import HealthCloudSync
import Logging
import ServiceLifecycle

/// The patient journey up to the fever-clinic visit: pre-check and triage, sites and slots,
/// booking, the visit pass, kiosk check-in, grading; the `submitPreCheck` mutation; reminders
/// and no-show release in the background.
struct JourneyFeature: Feature {
    let context: FeatureContext
    let sites: SiteCatalog
    let prechecks: PreCheckService
    let submitPreCheck: SubmitPreCheck

    init(_ context: FeatureContext) {
        self.context = context
        sites = SiteCatalog(database: context.database)
        prechecks = PreCheckService(database: context.database, catalog: sites)
        submitPreCheck = SubmitPreCheck(database: context.database, service: prechecks, clock: context.clock)
    }

    func addRoutes(root: Routes, api: Routes) {
        let (database, clock) = (context.database, context.clock)
        PreCheckController(database: database, service: prechecks, submitPreCheck: submitPreCheck, clock: clock).addRoutes(to: api)
        SitesController(database: database, catalog: sites, clock: clock).addRoutes(to: api)
        AppointmentsController(
            database: database,
            clock: clock,
            cancelAppointment: CancelAppointment(database: database, clock: clock),
            gradePatient: GradePatient(database: database, clock: clock)
        ).addRoutes(to: api)
        CheckInController(database: database, audit: context.audit, clock: clock, checkInPatient: CheckInPatient(database: database, clock: clock))
            .addRoutes(to: api)
    }

    var mutations: [SyncMutationName: SyncMutation] {
        let submitPreCheck = submitPreCheck
        return [
            .submitPreCheck: SyncMutation { arguments, caller, record in
                try await submitPreCheck.run(.init(arguments, decimalsAsStrings: true), by: caller, also: record.hook()).mutationStatus
            }
        ]
    }

    func services(logger: Logger) -> [any Service] {
        [PeriodicService.appointmentHousekeeping(appointments: context.database.appointments, clock: context.clock, logger: logger)]
    }
}
