import ArgumentParser
import Foundation
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudStorage

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the key store (SM2 signing keys, SM4 field keys, HMAC keys).",
        subcommands: [Init.self, Rotate.self, Show.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a new key store (refuses to overwrite one).")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Key directory (env HEALTHCLOUD_KEYS_DIR; default <data directory>/keys).") var dir: String?

        func run() async throws {
            let directory = try dir ?? storage.configuration().resolvedKeysDirectory
            let keys = try KeyStore.initialize(at: URL(fileURLWithPath: directory))
            print("Created keys in \(directory): signing key \(keys.signingKeyID), field key \(keys.fields.current.keyID). Secret files are mode 0600.")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a new current key; old public keys and field keys stay for verification and decryption.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Key directory (default <data directory>/keys).") var dir: String?
        @Flag(help: "Rotate the SM2 signing key.") var signing = false
        @Flag(help: "Rotate the SM4 field key.") var field = false

        func validate() throws {
            guard signing || field else { throw ValidationError("say what to rotate: --signing and/or --field") }
        }

        func run() async throws {
            let directory = try dir ?? storage.configuration().resolvedKeysDirectory
            let keys = try KeyStore.rotate(signing: signing, field: field, at: URL(fileURLWithPath: directory))
            print("Current signing key \(keys.signingKeyID) (\(keys.verificationKeys.count) verifying), current field key \(keys.fields.current.keyID). Restart the servers to use them.")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public signing keys (PEM), as GET /api/v1/keys publishes them.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Key directory (default <data directory>/keys).") var dir: String?

        func run() async throws {
            let directory = try dir ?? storage.configuration().resolvedKeysDirectory
            let keys = try KeyStore.load(from: URL(fileURLWithPath: directory))
            for (kid, key) in keys.verificationKeys.sorted(by: { $0.key < $1.key }) {
                print("# \(kid)\(kid == keys.signingKeyID ? " (current)" : "")")
                print(key.pemRepresentation)
            }
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the audit log's SM3 chain and SM2-signed checkpoints.",
        subcommands: [Verify.self, Checkpoint.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recompute the chain; report the first broken link. Exit status 1 when broken.")
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let configuration = try storage.configuration()
            let logger = storage.bootstrapLogging(configuration)
            let keys = try storage.keys(configuration, createIfMissing: false)
            let result = try await configuration.database.withAppDatabase(logger: logger, keys: keys) { database in
                try await database.audit.verify(publicKeys: keys.verificationKeys)
            }
            print("audit log \(result)")
            if !result.intact { throw ExitCode(1) }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign the current head of the log now.")
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let configuration = try storage.configuration()
            let logger = storage.bootstrapLogging(configuration)
            let keys = try storage.keys(configuration, createIfMissing: false)
            let seq = try await configuration.database.withAppDatabase(logger: logger, keys: keys) { database in
                try await database.audit.checkpoint()
            }
            print(seq.map { "signed checkpoint at row \($0) with \(keys.signingKeyID)" } ?? "the log is empty")
        }
    }
}
