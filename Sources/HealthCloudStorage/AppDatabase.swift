import HealthCloudCrypto
import Logging
import ServiceLifecycle

/// The one owner of the product's data: it opens the engine, applies the schema, and hands
/// out the repositories whose operations keep the data consistent. Everything above storage
/// talks to this type — its repositories (`database.reports…`, each on the pool) or one
/// transaction's (`database.write { tx in tx.reports…; tx.audit… }`) — never to SQL.
@dynamicMemberLookup
public struct AppDatabase: Sendable {
    let database: any Database
    let migrator: Migrator
    /// Keys for personal data, blind indexes, access-control seals and audit checkpoints.
    public let protection: DataProtection
    let caches = StorageCaches()

    init(_ database: any Database, keys: KeyMaterial, migrations: [Migration] = Schema.migrations) {
        self.database = database
        self.migrator = Migrator(migrations: migrations)
        self.protection = DataProtection(keys: keys)
    }

    /// Opens the database at `location`. On PostgreSQL its pool must run: as one of the
    /// application's ``services``, or through ``DatabaseLocation/withAppDatabase(logger:keys:_:)``.
    public static func open(_ location: DatabaseLocation, logger: Logger, keys: KeyMaterial) throws -> AppDatabase {
        AppDatabase(try location.open(logger: logger), keys: keys)
    }

    public var engine: SQLDialect { database.dialect }
    public var description: String { database.description }

    /// The repositories on the pool.
    public var repositories: Repositories { Repositories(pool: database, protection: protection, caches: caches) }

    /// Organisations changed on another instance (announced through PostgreSQL): drop what
    /// storage keeps of them.
    public func organisationsChanged() {
        caches.organisationsChanged()
    }

    public subscript<T>(dynamicMember keyPath: KeyPath<Repositories, T>) -> T {
        repositories[keyPath: keyPath]
    }

    /// Runs `body` in one transaction: every repository it reaches through `tx` commits when
    /// it returns and rolls back when it throws.
    public func write<T: Sendable>(_ body: @Sendable (Repositories) async throws -> T) async throws -> T {
        try await repositories.write(body)
    }

    /// Applies pending migrations; returns the versions it applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await migrator.migrate(database)
    }

    /// Whether the engine answers a trivial query.
    public func ping() async throws {
        _ = try await database.scalarInt("SELECT 1", [])
    }

    /// What must run beside the application while it uses the database (PostgreSQL's pool).
    public var services: [any Service] {
        (database as? any Service).map { [$0] } ?? []
    }

    /// Releases every connection.
    public func close() async {
        await database.close()
    }
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
