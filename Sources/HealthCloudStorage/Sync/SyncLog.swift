import Foundation
import HealthCloudDomain

/// Who may read a synced record: a role and a place in the hierarchy (`city`, `city/310115`,
/// `city/310115/12`) or a personal path (`patient/42`, `client/<id>`).
public struct SyncAudience: Sendable, Hashable, Comparable {
    public var role: String
    public var path: String

    public init(role: String, path: String) {
        self.role = role
        self.path = path
    }

    public static func < (a: SyncAudience, b: SyncAudience) -> Bool { (a.role, a.path) < (b.role, b.path) }

    /// A patient's own records.
    public static func patient(_ id: Int) -> SyncAudience { SyncAudience(role: "patient", path: "patient/\(id)") }

    /// A device's own records (its conflicts), bound to the account that pushed from it: another
    /// account that names the same `clientId` neither reads nor overwrites them.
    public static func client(_ clientId: String, accountId: Int) -> SyncAudience {
        SyncAudience(role: "client", path: "client/\(accountId)/\(clientId)")
    }

    /// Whether a holder of this grant reads a record of `audience`: the same role and the grant's
    /// path or one under it (a client grant: that path only). The twin of ``SyncLog/page``'s
    /// predicate, for deciding without a query (live pokes).
    public func admits(_ audience: SyncAudience) -> Bool {
        guard role == audience.role else { return false }
        if role == "client" { return path == audience.path }
        return audience.path == path || audience.path.hasPrefix(path + "/")
    }

    /// The hierarchy path of a place (`nil` for a place that does not exist).
    public static func path(of scope: ScopePath?) -> String? {
        guard let scope else { return nil }
        if let patient = scope.patientId { return "patient/\(patient)" }
        var path = "city"
        if let district = scope.districtCode { path += "/\(district)" }
        if let campus = scope.campusId { path += "/\(campus)" }
        if let site = scope.siteId { path += "/\(site)" }
        return path
    }
}

/// The sync change log (SyncProtocol/SPEC.md §1): every synced record's current state with the
/// global version of its last change. Features write records inside their own transactions
/// (`put`, `remove`), so a record changes exactly when the domain row does.
public struct SyncLog: Sendable {
    let db: Repositories

    /// The next version. The counter row is updated in the caller's transaction: a second
    /// writer waits for the first to commit (PostgreSQL row lock, SQLite's one writer), so
    /// versions become visible in order and a reader never skips one.
    func nextVersion() async throws -> Int64 {
        // On PostgreSQL a trigger on the counter announces the change (delivered at commit to
        // every listening instance, once per transaction: same payload).
        guard let row = try await db.first("UPDATE sync_state SET last_version = last_version + 1 WHERE id = 1 RETURNING last_version") else {
            throw DatabaseError.engine("sync_state has no row")
        }
        return try row.int64("last_version")
    }

    static let notificationChannel = "healthcloud_sync"

    /// Whether changes are announced (PostgreSQL LISTEN/NOTIFY) rather than found by polling.
    public var announcesChanges: Bool { db.pool is PostgresDatabase }

    /// On PostgreSQL, calls `onChange` after every committed sync change, on any instance,
    /// until cancelled (it holds one pooled connection). Returns at once on SQLite.
    public func listen(_ onChange: @escaping @Sendable () async -> Void) async throws {
        try await db.listen(on: Self.notificationChannel, onChange)
    }

    /// A record's new state; returns its version.
    @discardableResult
    public func put(
        collection: String,
        id: String,
        audience: SyncAudience,
        data: JSONValue,
        now: Int64
    ) async throws -> Int64 {
        try await db.sync.put([Put(collection: collection, id: id, audience: audience, data: data)], now: now)
    }

    /// A record's new state, to be written with others of the same transaction.
    public struct Put: Sendable {
        public var collection: String
        public var id: String
        public var audience: SyncAudience
        public var data: JSONValue

        public init(collection: String, id: String, audience: SyncAudience, data: JSONValue) {
            self.collection = collection
            self.id = id
            self.audience = audience
            self.data = data
        }
    }

    /// Records' new states in one move of the counter and one statement (versions in the order
    /// given; a record named twice keeps its last state); returns the last version (0 for none). The counter
    /// row — which every sync writer waits for until it commits — is locked once, as late and as
    /// briefly as the engine allows: on PostgreSQL the counter moves in the statement that writes.
    @discardableResult
    public func put(_ puts: [Put], now: Int64) async throws -> Int64 {
        try await db.write { db in
            var seen: Set<String> = []
            let records = puts.reversed().filter { seen.insert("\($0.collection)\u{0}\($0.id)").inserted }.reversed() as [Put]
            guard !records.isEmpty else { return 0 }
            // `(…)` rows of five placeholders from $3 and the record's rank.
            var binds: [SQLValue] = []
            var rows: [String] = []
            for (index, record) in records.enumerated() {
                let at = 3 + binds.count
                binds += [
                    .text(record.collection), .text(record.id), .text(record.audience.role), .text(record.audience.path),
                    .text(String(decoding: try ReportRepository.canonicalEncoder.encode(record.data), as: UTF8.self)),
                ]
                rows.append("($\(at), $\(at + 1), $\(at + 2), $\(at + 3), $\(at + 4), \(index + 1))")
            }
            let count = Int64(records.count)
            let upsert = """
                ON CONFLICT (collection, record_id) DO UPDATE SET role = excluded.role, path = excluded.path, version = excluded.version,
                    deleted = 0, data = excluded.data, updated_at = excluded.updated_at
                """
            if db.dialect == .postgresql {
                let written = try await db.query(
                    """
                    WITH counter AS (UPDATE sync_state SET last_version = last_version + $1 WHERE id = 1 RETURNING last_version)
                    INSERT INTO sync_records (collection, record_id, role, path, version, deleted, data, updated_at)
                    SELECT v.collection, v.record_id, v.role, v.path, counter.last_version - $1 + v.n, 0, v.data, $2
                    FROM counter, (VALUES \(rows.joined(separator: ", "))) AS v (collection, record_id, role, path, data, n)
                    \(upsert)
                    RETURNING version
                    """,
                    [.integer(count), .integer(now)] + binds
                )
                guard let last = try written.map({ try $0.int64("version") }).max() else { throw DatabaseError.engine("sync_state has no row") }
                return last
            }
            guard
                let row = try await db.first(
                    "UPDATE sync_state SET last_version = last_version + $1 WHERE id = 1 RETURNING last_version",
                    [.integer(count)]
                )
            else {
                throw DatabaseError.engine("sync_state has no row")
            }
            let last = try row.int64("last_version")
            // SQLite reads VALUES columns as column1…; `WHERE true` keeps ON CONFLICT from parsing as a join clause.
            try await db.execute(
                """
                INSERT INTO sync_records (collection, record_id, role, path, data, version, deleted, updated_at)
                SELECT column1, column2, column3, column4, column5, $1 + column6, 0, $2 FROM (VALUES \(rows.joined(separator: ", "))) WHERE true
                \(upsert)
                """,
                [.integer(last - count), .integer(now)] + binds
            )
            return last
        }
    }

    /// Writes the record only when its data or audience differs from what is stored (a record
    /// refreshed on every read, like a leader's cockpit home); returns whether it wrote.
    @discardableResult
    public func putIfChanged(_ put: Put, now: Int64) async throws -> Bool {
        let text = String(decoding: try ReportRepository.canonicalEncoder.encode(put.data), as: UTF8.self)
        return try await db.write { db in
            let stored = try await db.first(
                "SELECT role, path, data FROM sync_records WHERE collection = $1 AND record_id = $2 AND deleted = 0",
                [.text(put.collection), .text(put.id)]
            )
            if let stored, try stored.optionalString("data") == text, try stored.string("role") == put.audience.role,
                try stored.string("path") == put.audience.path
            {
                return false
            }
            try await db.sync.put([put], now: now)
            return true
        }
    }

    /// A record is gone: a tombstone (kept for the horizon) replaces it. Nothing for a record never synced.
    public func remove(collection: String, id: String, now: Int64) async throws {
        try await db.write { db in
            guard
                try await db.first(
                    "SELECT 1 AS present FROM sync_records WHERE collection = $1 AND record_id = $2 AND deleted = 0",
                    [.text(collection), .text(id)]
                ) != nil
            else { return }
            let version = try await db.sync.nextVersion()
            try await db.execute(
                "UPDATE sync_records SET deleted = 1, data = NULL, version = $1, updated_at = $2 WHERE collection = $3 AND record_id = $4",
                [.integer(version), .integer(now), .text(collection), .text(id)]
            )
        }
    }

    /// A fractional number as records carry it (SPEC.md §5): a decimal string, no trailing zeros.
    public static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        var text = String(format: "%.6f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    // MARK: Reading

    public struct Record: Sendable, Equatable {
        public var collection: String
        public var id: String
        public var version: Int64
        public var deleted: Bool
        /// The stored JSON text (nil for a tombstone).
        public var data: String?
    }

    public struct Page: Sendable {
        public var records: [Record]
        /// The version the page brings the reader up to.
        public var cursor: Int64
        public var hasMore: Bool
        /// The last version committed when the page was read (a snapshot's starting mark).
        public var highWater: Int64
    }

    /// The counter, the highest purged tombstone and the history epoch (SPEC.md §2).
    public func state() async throws -> (lastVersion: Int64, purgedThrough: Int64, epoch: String) {
        guard let row = try await db.first("SELECT last_version, purged_through, epoch FROM sync_state WHERE id = 1") else { return (0, 0, "") }
        return (try row.int64("last_version"), try row.int64("purged_through"), try row.string("epoch"))
    }

    /// Draws a new history epoch: every cursor issued so far is answered with a reset. Run after
    /// restoring a backup, whose counter may be below cursors already issued.
    @discardableResult
    public func newEpoch() async throws -> String {
        let epoch = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try await db.write { db in
            try await db.execute("UPDATE sync_state SET epoch = $1 WHERE id = 1", [.text(epoch)])
        }
        return epoch
    }

    /// The records visible to `grants` changed after `after`, oldest first, at most `limit`
    /// and about `maxBytes` of data; `snapshot` leaves tombstones out (a reset's first page),
    /// and so does `tombstonesAbove` for those at or below it (its later pages: the snapshot's mark).
    public func page(grants: [SyncAudience], after: Int64, snapshot: Bool, tombstonesAbove: Int64 = 0, limit: Int, maxBytes: Int) async throws -> Page
    {
        let highWater = try await state().lastVersion
        guard !grants.isEmpty, after < highWater else {
            return Page(records: [], cursor: max(after, highWater), hasMore: false, highWater: highWater)
        }
        // A tombstone above the page's high-water mark cannot exist: a snapshot carries none.
        var binds: [SQLValue] = [.integer(after), .integer(highWater), .integer(snapshot ? highWater : tombstonesAbove)]
        var predicates: [String] = []
        for grant in grants {
            binds.append(.text(grant.role))
            binds.append(.text(grant.path))
            if grant.role == "client" {
                predicates.append("(role = $\(binds.count - 1) AND path = $\(binds.count))")
            } else {
                binds.append(.text(grant.path + "/%"))
                predicates.append("(role = $\(binds.count - 2) AND (path = $\(binds.count - 1) OR path LIKE $\(binds.count)))")
            }
        }
        let rows = try await db.query(
            """
            SELECT collection, record_id, version, deleted, data FROM sync_records
            WHERE version > $1 AND version <= $2 AND (deleted = 0 OR version > $3) AND (\(predicates.joined(separator: " OR ")))
            ORDER BY version LIMIT \(limit + 1)
            """,
            binds
        )
        var records: [Record] = []
        var bytes = 0
        for row in rows.prefix(limit) {
            let data = try row.optionalString("data")
            let size = (data?.utf8.count ?? 0) + 64
            if !records.isEmpty && bytes + size > maxBytes { break }
            bytes += size
            records.append(
                Record(
                    collection: try row.string("collection"),
                    id: try row.string("record_id"),
                    version: try row.int64("version"),
                    deleted: try row.bool("deleted"),
                    data: data
                )
            )
        }
        let complete = records.count == rows.count
        return Page(records: records, cursor: complete ? highWater : records.last!.version, hasMore: !complete, highWater: highWater)
    }

    /// The audiences of the records whose last change lies in `(after, through]`, each once:
    /// one query per move of the counter, however many live connections then decide from it.
    public func audiences(after: Int64, through: Int64) async throws -> Set<SyncAudience> {
        guard through > after else { return [] }
        return Set(
            try await db.query(
                "SELECT DISTINCT role, path FROM sync_records WHERE version > $1 AND version <= $2",
                [.integer(after), .integer(through)]
            )
            .map { SyncAudience(role: try $0.string("role"), path: try $0.string("path")) }
        )
    }

    /// Deletes tombstones older than `before` (unix seconds); cursors below the highest version
    /// purged are answered with a reset from then on. Returns how many were purged.
    @discardableResult
    public func purgeTombstones(before: Int64) async throws -> Int {
        try await db.write { db in
            let doomed = try await db.query("SELECT version FROM sync_records WHERE deleted = 1 AND updated_at < $1", [.integer(before)])
            guard let highest = try doomed.map({ try $0.int64("version") }).max() else { return 0 }
            try await db.execute("DELETE FROM sync_records WHERE deleted = 1 AND updated_at < $1", [.integer(before)])
            try await db.execute(
                "UPDATE sync_state SET purged_through = CASE WHEN purged_through > $1 THEN purged_through ELSE $1 END WHERE id = 1",
                [.integer(highest)]
            )
            return doomed.count
        }
    }

    // MARK: Mutations (exactly once per client and id)

    public struct StoredResult: Sendable, Equatable {
        public var bodyDigest: String
        public var status: String
        public var code: String?
        public var message: String?
    }

    public func lastMutationId(clientId: String, accountId: Int) async throws -> Int64 {
        try await db.first(
            "SELECT last_mutation_id FROM sync_clients WHERE client_id = $1 AND account_id = $2",
            [.text(clientId), .integer(Int64(accountId))]
        ).map { try $0.int64("last_mutation_id") } ?? 0
    }

    public func storedResults(clientId: String, accountId: Int, ids: [Int64]) async throws -> [Int64: StoredResult] {
        guard !ids.isEmpty else { return [:] }
        let placeholders = ids.indices.map { "$\($0 + 3)" }.joined(separator: ", ")
        var results: [Int64: StoredResult] = [:]
        for row in try await db.query(
            """
            SELECT mutation_id, body_digest, status, code, message FROM sync_mutations
            WHERE client_id = $1 AND account_id = $2 AND mutation_id IN (\(placeholders))
            """,
            [.text(clientId), .integer(Int64(accountId))] + ids.map { .integer($0) }
        ) {
            results[try row.int64("mutation_id")] = StoredResult(
                bodyDigest: try row.string("body_digest"),
                status: try row.string("status"),
                code: try row.optionalString("code"),
                message: try row.optionalString("message")
            )
        }
        return results
    }

    /// Records a mutation's outcome in the transaction of its effects, and moves the client's
    /// last mutation id. A concurrent push of the same id loses on the primary key (and rolls
    /// its effects back with it).
    public func recordMutation(
        clientId: String,
        accountId: Int,
        id: Int64,
        name: String,
        bodyDigest: String,
        status: String,
        code: String?,
        message: String?,
        now: Int64
    ) async throws {
        try await db.write { db in
            try await db.execute(
                """
                INSERT INTO sync_mutations (client_id, account_id, mutation_id, name, body_digest, status, code, message, at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """,
                [
                    .text(clientId), .integer(Int64(accountId)), .integer(id), .text(name), .text(bodyDigest), .text(status),
                    SQLValue(code, SQLValue.text), SQLValue(message, SQLValue.text), .integer(now),
                ]
            )
            try await db.execute(
                """
                INSERT INTO sync_clients (client_id, account_id, last_mutation_id, updated_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (client_id, account_id) DO UPDATE SET
                    last_mutation_id = CASE WHEN sync_clients.last_mutation_id > excluded.last_mutation_id THEN sync_clients.last_mutation_id ELSE excluded.last_mutation_id END,
                    updated_at = excluded.updated_at
                """,
                [.text(clientId), .integer(Int64(accountId)), .integer(id), .integer(now)]
            )
        }
    }
}
