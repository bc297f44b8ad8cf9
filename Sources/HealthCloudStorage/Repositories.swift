import HealthCloudCrypto
import PostgresNIO

/// Every repository, bound to where its statements run: the connection pool (`AppDatabase`'s
/// own, each operation in a transaction of its own where it needs one) or one open transaction
/// (`AppDatabase.write { tx in … }`), so several repositories' changes commit together or not at all.
///
/// The engine handle stays inside this module: code above storage reaches data only through
/// these repositories, never through SQL.
public struct Repositories: Sendable {
    let executor: any SQLExecutor
    /// The pool when not inside a transaction; nil inside one.
    let pool: (any Database)?
    let protection: DataProtection
    let caches: StorageCaches

    init(pool: any Database, protection: DataProtection, caches: StorageCaches) {
        executor = pool
        self.pool = pool
        self.protection = protection
        self.caches = caches
    }

    init(transaction: any SQLExecutor, protection: DataProtection, caches: StorageCaches) {
        executor = transaction
        pool = nil
        self.protection = protection
        self.caches = caches
    }

    /// Whether these repositories run inside an open transaction.
    public var inTransaction: Bool { pool == nil }

    /// Runs `body` in a transaction: a new one on the pool, or the one already open (its
    /// changes then commit with the caller's).
    public func write<T: Sendable>(_ body: @Sendable (Repositories) async throws -> T) async throws -> T {
        guard let pool else { return try await body(self) }
        let (protection, caches) = (protection, caches)
        return try await pool.write { transaction in
            try await body(Repositories(transaction: transaction, protection: protection, caches: caches))
        }
    }

    /// Runs several reads on one connection (one snapshot on PostgreSQL inside a transaction).
    public func read<T: Sendable>(_ body: @Sendable (Repositories) async throws -> T) async throws -> T {
        guard let pool else { return try await body(self) }
        let (protection, caches) = (protection, caches)
        return try await pool.read { connection in
            try await body(Repositories(transaction: connection, protection: protection, caches: caches))
        }
    }

    public var organisations: SQLOrganisationRepository { SQLOrganisationRepository(db: self) }
    public var identity: IdentityRepository { IdentityRepository(db: self) }
    public var sessions: SessionRepository { SessionRepository(db: self) }
    public var reports: ReportRepository { ReportRepository(db: self) }
    public var ingestion: ReportIngestion { ReportIngestion(db: self) }
    public var figures: FiguresRepository { FiguresRepository(db: self) }
    public var warnings: WarningRepository { WarningRepository(db: self) }
    public var notifications: NotificationRepository { NotificationRepository(db: self) }
    public var sync: SyncLog { SyncLog(db: self) }
    public var sites: SiteRepository { SiteRepository(db: self) }
    public var prechecks: PreCheckRepository { PreCheckRepository(db: self) }
    public var appointments: AppointmentRepository { AppointmentRepository(db: self) }
    public var quality: QualityQueries { QualityQueries(db: self) }
    public var audit: AuditLog { AuditLog(db: self) }
    public var demo: DemoRecords { DemoRecords(db: self) }
}

extension Repositories {
    /// On PostgreSQL, calls `onChange` after every committed `NOTIFY` on `channel`, from any
    /// instance, until cancelled (it holds one pooled connection). Returns at once on SQLite.
    func listen(on channel: String, _ onChange: @escaping @Sendable () async -> Void) async throws {
        guard let postgres = pool as? PostgresDatabase else { return }
        try await postgres.client.withConnection { connection in
            try await connection.listen(on: channel) { notifications in
                for try await _ in notifications { await onChange() }
            }
        }
    }
}

extension Repositories: SQLExecutor {
    var dialect: SQLDialect { executor.dialect }

    /// On the pool, a read runs on any connection (SQLite's readers are read-only) and a
    /// statement that changes data runs on the writer, as a transaction of its own.
    @discardableResult
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        guard let pool, !Self.isRead(sql) else { return try await executor.query(sql, binds) }
        return try await pool.write { try await $0.query(sql, binds) }
    }

    static func isRead(_ sql: String) -> Bool {
        let head = sql.utf8.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") }.prefix(6)
        return String(decoding: head, as: UTF8.self).uppercased() == "SELECT"
    }
}
