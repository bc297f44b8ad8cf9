import ArgumentParser
import Foundation
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudDemo
import HealthCloudStorage
import Hummingbird
import Logging

@main
struct HealthCloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcloud",
        abstract: "HealthCloud BFF: the mobile backend of Shanghai's infectious-disease clinical network.",
        subcommands: [
            Serve.self, Migrate.self, Demo.self, Keys.self, Audit.self, Token.self, Sync.self, BenchIngestDay.self, BenchVisitPasses.self,
            BenchJSONDecode.self, Replay2022Reports.self,
        ],
        defaultSubcommand: Serve.self
    )
}

/// Options every subcommand shares. Flags win over `HEALTHCLOUD_*` environment variables.
struct StorageOptions: ParsableArguments {
    @Option(help: "A SQLite file path or a postgres:// URL (env HEALTHCLOUD_DATABASE_URL; default data/healthcloud.sqlite).")
    var database: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env HEALTHCLOUD_LOG_LEVEL).")
    var logLevel: String?

    func configuration() throws -> AppConfiguration {
        var configuration = try AppConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
        if let database { configuration.database = try DatabaseLocation(database) }
        if let logLevel {
            guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = level
        }
        return configuration
    }

    /// The key store for this configuration. Demo mode creates one when there is none;
    /// otherwise a missing store is an error that says how to create it.
    func keys(_ configuration: AppConfiguration, createIfMissing: Bool) throws -> KeyMaterial {
        let directory = URL(fileURLWithPath: configuration.resolvedKeysDirectory)
        if createIfMissing && !KeyStore.exists(at: directory) {
            return try KeyStore.initialize(at: directory)
        }
        return try KeyStore.load(from: directory)
    }

    /// Opens the configured database with its keys for a one-shot command (logging set up,
    /// the PostgreSQL pool running for the duration of `body`).
    func withDatabase<T: Sendable>(
        createKeys: Bool = false,
        _ body: @Sendable (AppDatabase, AppConfiguration, KeyMaterial) async throws -> T
    ) async throws -> T {
        let configuration = try configuration()
        let logger = bootstrapLogging(configuration)
        let keys = try keys(configuration, createIfMissing: createKeys)
        return try await configuration.database.withAppDatabase(logger: logger, keys: keys) { database in
            try await body(database, configuration, keys)
        }
    }

    /// JSON lines on standard output for everything that logs.
    func bootstrapLogging(_ configuration: AppConfiguration) -> Logger {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: configuration.logLevel) }
        return Logger(label: "healthcloud")
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server (applies pending migrations first).")

    @OptionGroup var storage: StorageOptions

    @Option(help: "Address to listen on (env HEALTHCLOUD_HOSTNAME; default 127.0.0.1).")
    var hostname: String?

    @Option(help: "Port to listen on (env HEALTHCLOUD_PORT; default 8080; 0 picks a free one).")
    var port: Int?

    @Flag(help: "Fill an empty database with demo data before serving, and open the demo-only routes.")
    var demo = false

    func run() async throws {
        var configuration = try storage.configuration()
        if let hostname { configuration.hostname = hostname }
        if let port { configuration.port = port }
        configuration.demo = demo
        let logger = storage.bootstrapLogging(configuration)
        let keys = try storage.keys(configuration, createIfMissing: demo)
        let shownHost = configuration.hostname == "0.0.0.0" ? "127.0.0.1" : configuration.hostname
        let demo = self.demo
        let location = configuration.database
        let dataDirectory = configuration.resolvedDataDirectory
        let iterations = configuration.identity.passwordIterations
        let app = try buildApplication(
            configuration,
            keys: keys,
            logger: logger,
            hooks: AppHooks(
                prepare: { database in
                    guard demo else { return }
                    try await Demo.fill(database, dataDirectory: dataDirectory, passwordIterations: iterations)
                },
                onServerRunning: { port in
                    Banner.print(baseURL: "http://\(shownHost):\(port)", database: location, demo: demo, dataDirectory: dataDirectory)
                }
            )
        )
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations and exit.")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        // Migrations never read sealed data, so they need no key store (ephemeral keys will do).
        let configuration = try storage.configuration()
        let logger = storage.bootstrapLogging(configuration)
        let applied = try await configuration.database.withAppDatabase(logger: logger, keys: try KeyMaterial.ephemeral()) { database in
            try await database.migrate()
        }
        print(
            applied.isEmpty
                ? "\(configuration.database): schema is up to date."
                : "\(configuration.database): applied migrations \(applied.map(String.init).joined(separator: ", "))."
        )
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fill the database with demo data (steps already done are skipped) and exit.")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        let location = try await storage.withDatabase(createKeys: true) { database, configuration, _ in
            try await database.migrate()
            try await Self.fill(
                database,
                dataDirectory: configuration.resolvedDataDirectory,
                passwordIterations: configuration.identity.passwordIterations
            )
            return configuration.database
        }
        FileHandle.standardError.write(Data("Demo data is in \(location). Start it with: healthcloud serve --demo\n".utf8))
    }

    /// The demo pipeline with a progress bar on the terminal.
    /// `HEALTHCLOUD_DEMO_HISTORY_DAYS` shortens the report history (test servers use a few weeks).
    static func fill(_ database: AppDatabase, dataDirectory: String, passwordIterations: Int) async throws {
        let context = DemoContext(
            database: database,
            reference: try ReferenceData.bundled(),
            dataDirectory: dataDirectory,
            today: Date(),
            passwordIterations: passwordIterations
        )
        var pipeline = DemoPipeline.standard
        if let text = ProcessInfo.processInfo.environment["HEALTHCLOUD_DEMO_HISTORY_DAYS"], let days = Int(text), (0...3650).contains(days) {
            pipeline = DemoPipeline.standard(historyDays: days)
        }
        _ = try await pipeline.run(context, progress: TerminalProgress())
    }
}

enum Banner {
    static func print(baseURL: String, database: DatabaseLocation, demo: Bool, dataDirectory: String) {
        var lines = [
            "",
            "HealthCloud BFF is serving on \(baseURL)  (storage: \(database)\(demo ? ", demo data" : ""))",
            "  health      \(baseURL)/healthz",
            "  readiness   \(baseURL)/readyz",
            "  metrics     \(baseURL)/metrics  (Authorization: Bearer $HEALTHCLOUD_METRICS_TOKEN; 404 when unset)",
            "  districts   \(baseURL)/api/v1/districts",
            "  hospitals   \(baseURL)/api/v1/institutions?district=310115",
            "  a campus    \(baseURL)/api/v1/campuses/1",
            "  public keys \(baseURL)/api/v1/keys",
        ]
        if demo {
            lines.append(
                "Demo accounts (usernames, passwords, TOTP secrets, patient phones): \((dataDirectory as NSString).appendingPathComponent("demo-accounts.json"))"
            )
            lines.append("  patient sign-in codes are readable at \(baseURL)/api/v1/dev/sms-outbox?phone=13800138000")
        }
        lines.append("Stop with Ctrl-C (graceful shutdown).")
        lines.append("")
        FileHandle.standardError.write(Data(lines.joined(separator: "\n").utf8))
    }
}
