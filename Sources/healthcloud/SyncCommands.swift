import ArgumentParser
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudStorage

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Operate the offline-sync change log (SyncProtocol/SPEC.md).",
        subcommands: [NewEpoch.self]
    )

    /// A restored backup keeps the epoch of the history it was taken from, but its counter may
    /// be below cursors devices already hold: they would skip every change numbered up to their
    /// cursor. A new epoch answers every cursor issued before with a reset.
    struct NewEpoch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-epoch",
            abstract: "Start a new sync history: every device resets at its next pull. Run after restoring a backup, before serving."
        )
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            // The epoch needs no sealed data (ephemeral keys will do); an old backup is migrated first.
            let configuration = try storage.configuration()
            let logger = storage.bootstrapLogging(configuration)
            let epoch = try await configuration.database.withAppDatabase(logger: logger, keys: try KeyMaterial.ephemeral()) { database in
                try await database.migrate()
                return try await database.sync.newEpoch()
            }
            print("\(configuration.database): sync history epoch is now \(epoch); every device resets at its next pull.")
        }
    }
}
