/// The synced collections of the current schema version and how each merges (SPEC.md §5).
/// Adding one is a line here plus the server feature writing its records to the sync log.
public struct SyncCollection: Sendable, Hashable {
    public enum MergePolicy: String, Sendable, Hashable {
        /// The server's state replaces the client's; clients change it only through mutations.
        case serverWins = "server-wins"
        /// The latest change in server order wins (per field named).
        case lastWriterWins = "last-writer-wins"
        /// Records are only ever added.
        case appendOnly = "append-only"
    }

    public var name: String
    /// The role that reads it (`client`: the device's own records).
    public var role: String
    public var merge: MergePolicy

    public static let warnings = SyncCollection(name: "warnings", role: "leader", merge: .serverWins)
    public static let cockpitHome = SyncCollection(name: "cockpitHome", role: "leader", merge: .serverWins)
    public static let qcFindings = SyncCollection(name: "qcFindings", role: "reporter", merge: .serverWins)
    public static let notifications = SyncCollection(name: "notifications", role: "patient", merge: .lastWriterWins)
    public static let syncConflicts = SyncCollection(name: "syncConflicts", role: "client", merge: .appendOnly)
    /// A patient's answered pre-checks with their triage.
    public static let prechecks = SyncCollection(name: "prechecks", role: "patient", merge: .appendOnly)
    public static let appointments = SyncCollection(name: "appointments", role: "patient", merge: .serverWins)
    /// The signed token of each live appointment, so the QR pass shows without a network.
    public static let visitPasses = SyncCollection(name: "visitPasses", role: "patient", merge: .serverWins)

    public static let all: [SyncCollection] = [
        .warnings, .cockpitHome, .qcFindings, .notifications, .syncConflicts, .prechecks, .appointments, .visitPasses,
    ]
}

/// The mutations of the current schema version (SPEC.md §5).
public enum SyncMutationName: String, Sendable, CaseIterable {
    case acknowledgeWarning
    case submitReport
    case markNotificationRead
    case submitPreCheck
}
