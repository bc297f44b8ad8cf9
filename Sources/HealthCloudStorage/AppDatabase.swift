import HealthCloudCrypto
import Logging

/// The one owner of the product's data: it opens the engine, applies the schema, and hands
/// out the repositories whose operations keep the data consistent. Everything above storage
/// talks to this type (or to the repository protocols it implements), never to SQL.
public struct AppDatabase: Sendable {
    public let database: any Database
    public let migrator: Migrator
    /// Keys for personal data, blind indexes, access-control seals and audit checkpoints.
    public let protection: DataProtection

    public init(_ database: any Database, keys: KeyMaterial, migrations: [Migration] = Schema.migrations) {
        self.database = database
        self.migrator = Migrator(migrations: migrations)
        self.protection = DataProtection(keys: keys)
    }

    public var engine: SQLDialect { database.dialect }

    /// Applies pending migrations; returns the versions it applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await migrator.migrate(database)
    }

    /// Whether the engine answers a trivial query.
    public func ping() async throws {
        _ = try await database.scalarInt("SELECT 1", [])
    }

    public var organisations: SQLOrganisationRepository { SQLOrganisationRepository(database: database) }
    public var identity: IdentityRepository { IdentityRepository(database: database, protection: protection) }
    public var sessions: SessionRepository { SessionRepository(database: database) }
    public var reports: ReportRepository { ReportRepository(database: database) }
    public var ingestion: ReportIngestion { ReportIngestion(reports: reports, warnings: warnings) }
    public var figures: FiguresRepository { FiguresRepository(database: database) }
    public var warnings: WarningRepository { WarningRepository(database: database) }
    public var notifications: NotificationRepository { NotificationRepository(database: database) }
    public var sync: SyncLog { SyncLog(database: database) }
    public var sites: SiteRepository { SiteRepository(database: database) }
    public var prechecks: PreCheckRepository { PreCheckRepository(database: database) }
    public var appointments: AppointmentRepository { AppointmentRepository(database: database, keys: protection.keys) }
    public var quality: QualityQueries { QualityQueries(database: database) }
    public var audit: AuditLog { AuditLog(database: database, signingKey: protection.keys.signingKey, signingKeyID: protection.keys.signingKeyID) }
}

extension DatabaseLocation {
    /// Opens the database, keeps its connection pool running for the duration of `body`
    /// (PostgreSQL's pool runs as a task), and closes it afterwards. For one-shot commands
    /// (`migrate`, `demo`); the server runs the pool as a service instead.
    public func withAppDatabase<T: Sendable>(logger: Logger, keys: KeyMaterial, _ body: @Sendable (AppDatabase) async throws -> T) async throws -> T {
        let database = try open(logger: logger)
        let appDatabase = AppDatabase(database, keys: keys)
        guard let postgres = database as? PostgresDatabase else {
            do {
                let result = try await body(appDatabase)
                await database.close()
                return result
            } catch {
                await database.close()
                throw error
            }
        }
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { await postgres.run() }
            defer { group.cancelAll() }
            return try await body(appDatabase)
        }
    }
}
