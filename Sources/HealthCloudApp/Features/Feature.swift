import HealthCloudStorage
import HealthCloudSync
import Logging
import ServiceLifecycle

/// What every feature draws on, built once by the composition root: one scope directory,
/// one cockpit cache and service, one audit trail.
struct FeatureContext: Sendable {
    let configuration: AppConfiguration
    let dependencies: AppDependencies
    let audit: AuditTrail
    /// The live side of sync (its session cache serves sign-out and the authenticator too).
    let live: SyncLiveHub

    var database: AppDatabase { dependencies.database }
    var clock: AppClock { dependencies.clock }
    var directory: ScopeDirectory { dependencies.directory }
    var cockpitCache: CockpitCache { dependencies.cockpitCache }
}

/// A feature's one entry point: the routes it serves (each with its access), the sync
/// mutations it accepts, and the jobs it runs beside the server. Its migrations are in the
/// `Migrations` folder of its storage (listed by `Schema`). The composition root lists the
/// features (``Features/all(_:)``); adding one touches its own folders, the OpenAPI spec,
/// SPEC.md when it syncs, and that list.
protocol Feature: Sendable {
    /// `root`: paths outside `/api/v1` (pages, probes); `api`: under `/api/v1`.
    func addRoutes(root: Routes, api: Routes)
    /// The sync mutations it accepts (SPEC.md §5), each an adapter over one of its commands.
    var mutations: [SyncMutationName: SyncMutation] { get }
    /// Background jobs (housekeeping, listeners).
    func services(logger: Logger) -> [any Service]
}

extension Feature {
    var mutations: [SyncMutationName: SyncMutation] { [:] }
    func services(logger: Logger) -> [any Service] { [] }
}

/// One sync mutation: reads its arguments with the command's own rules and runs the command,
/// handing it `record` (the mutation's exactly-once record, written in the command's transaction).
struct SyncMutation: Sendable {
    let run: @Sendable (_ arguments: Arguments, _ caller: Caller, _ record: MutationRecorder) async throws -> MutationStatus
}

/// Makes the in-transaction hook that records a mutation's result, for any command's outcome.
struct MutationRecorder: Sendable {
    let record: @Sendable (Repositories, MutationStatus) async throws -> Void

    func hook<Outcome: MutationOutcome>() -> InTransaction<Outcome> {
        { tx, outcome in try await record(tx, outcome.mutationStatus) }
    }
}

/// The product's features, in the order their routes are declared.
enum Features {
    static func all(_ context: FeatureContext) throws -> [any Feature] {
        [
            OperationsFeature(context),
            OrganisationsFeature(context),
            try IdentityFeature(context),
            ReportingFeature(context),
            CockpitFeature(context),
            WarningsFeature(context),
            JourneyFeature(context),
            NotificationsFeature(context),
        ]
    }
}
