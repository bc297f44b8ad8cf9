/// A numbered, named step of the schema. Each migration is a list of statements
/// (one statement each: PostgreSQL's extended protocol runs one at a time), written
/// for both engines; `statements` gets the dialect for the few places they differ.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: @Sendable (SQLDialect) -> [String]

    public init(version: Int, name: String, statements: @escaping @Sendable (SQLDialect) -> [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Applies migrations in order, each in its own transaction, recording them in
/// `schema_migrations`. On PostgreSQL an advisory lock keeps two instances that start
/// together from migrating at once.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        precondition(
            zip(migrations, migrations.dropFirst()).allSatisfy { $0.version < $1.version },
            "migrations must be in increasing version order"
        )
        self.migrations = migrations
    }

    /// Applies the pending migrations and returns their versions.
    @discardableResult
    func migrate(_ database: any Database) async throws -> [Int] {
        try await database.write { db in
            try await db.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TEXT NOT NULL
                )
                """
            )
        }
        var applied: [Int] = []
        for migration in migrations {
            let didApply = try await database.write { db -> Bool in
                if db.dialect == .postgresql {
                    // 0x4843 = "HC": one lock id for the whole schema.
                    try await db.execute("SELECT pg_advisory_xact_lock(18499)")
                }
                let done = try await db.scalarInt(
                    "SELECT COUNT(*) FROM schema_migrations WHERE version = $1",
                    [.integer(Int64(migration.version))]
                )
                guard done == 0 else { return false }
                for statement in migration.statements(db.dialect) {
                    try await db.execute(statement)
                }
                try await db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    [.integer(Int64(migration.version)), .text(migration.name), .text(Timestamp.nowISO8601())]
                )
                return true
            }
            if didApply { applied.append(migration.version) }
        }
        return applied
    }

    /// Versions recorded as applied.
    func appliedVersions(_ database: any Database) async throws -> [Int] {
        let rows = try await database.query("SELECT version FROM schema_migrations ORDER BY version", [])
        return try rows.map { try $0.int("version") }
    }
}
