import Foundation
import HealthCloudDomain
import HealthCloudSync

/// A mutation waiting in the outbox (sent or not) until a pull's `lastMutationId` covers it.
public struct PendingMutation: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var args: JSONValue
}

/// A mutation the server refused for good: out of the outbox, kept for the user to see.
public struct RejectedMutation: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var code: String
    public var message: String
}

/// The device's synced data in one SQLite file: a table per collection (the server's state as
/// last pulled), the outbox, the refused mutations, and the sync position. Every page is
/// applied in one transaction, so a process killed at any moment leaves either the old
/// state or the new one.
public actor LocalStore {
    let database: LocalDatabase
    static let schemaVersion: Int64 = 1

    public init(path: String) throws {
        database = try LocalDatabase(path: path)
        try Self.migrate(database)
    }

    /// Numbered steps on `PRAGMA user_version`.
    static func migrate(_ database: LocalDatabase) throws {
        let version = try database.query("PRAGMA user_version").first?["user_version"]?.integer ?? 0
        if version < 1 {
            try database.transaction {
                try database.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                try database.execute("CREATE TABLE collections (name TEXT PRIMARY KEY)")
                try database.execute(
                    "CREATE TABLE outbox (id INTEGER PRIMARY KEY, name TEXT NOT NULL, args TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0)"
                )
                try database.execute(
                    "CREATE TABLE rejections (id INTEGER PRIMARY KEY, name TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL)"
                )
                try database.execute("PRAGMA user_version = 1")
            }
        }
    }

    static func table(_ collection: String) throws -> String {
        guard !collection.isEmpty, collection.count <= 64,
            collection.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) })
        else {
            throw LocalDatabase.Failure(description: "collection name \(collection) is not a plain identifier")
        }
        return "\"c_\(collection)\""
    }

    private func ensureTable(_ collection: String) throws -> String {
        let table = try Self.table(collection)
        try database.execute("CREATE TABLE IF NOT EXISTS \(table) (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL)")
        try database.execute("INSERT OR IGNORE INTO collections (name) VALUES (?)", [.text(collection)])
        return table
    }

    // MARK: Position

    func meta(_ key: String) throws -> String? {
        try database.query("SELECT value FROM meta WHERE key = ?", [.text(key)]).first?["value"]?.text
    }

    private func setMeta(_ key: String, _ value: String) throws {
        try database.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [.text(key), .text(value)]
        )
    }

    public var cursor: String? { get throws { try meta("cursor") } }
    public var lastMutationId: Int64 { get throws { Int64(try meta("lastMutationId") ?? "0") ?? 0 } }

    // MARK: Reading

    /// The server's state of a collection as last pulled: id → record.
    public func records(_ collection: String) throws -> [String: JSONValue] {
        let known = try database.query("SELECT name FROM collections WHERE name = ?", [.text(collection)])
        guard !known.isEmpty else { return [:] }
        var records: [String: JSONValue] = [:]
        for row in try database.query("SELECT id, data FROM \(try Self.table(collection))") {
            guard let id = row["id"]?.text, let data = row["data"]?.text else { continue }
            records[id] = try JSONDecoder().decode(JSONValue.self, from: Data(data.utf8))
        }
        return records
    }

    public func collections() throws -> [String] {
        try database.query("SELECT name FROM collections ORDER BY name").compactMap { $0["name"]?.text }
    }

    // MARK: Outbox

    /// Queues a mutation; ids keep increasing across restarts and resets.
    public func enqueue(name: String, args: JSONValue) throws -> Int64 {
        try database.transaction {
            let last = max(Int64(try meta("lastIssuedMutationId") ?? "0") ?? 0, try lastMutationId)
            let id = last + 1
            try database.execute(
                "INSERT INTO outbox (id, name, args) VALUES (?, ?, ?)",
                [.integer(id), .text(name), .text(String(decoding: try JSONEncoder().encode(args), as: UTF8.self))]
            )
            try setMeta("lastIssuedMutationId", String(id))
            return id
        }
    }

    /// Everything in the outbox, answered or not (the optimistic view applies all of them).
    public func pending() throws -> [PendingMutation] {
        try outbox(unsentOnly: false)
    }

    private func outbox(unsentOnly: Bool) throws -> [PendingMutation] {
        try database.query("SELECT id, name, args FROM outbox\(unsentOnly ? " WHERE sent = 0" : "") ORDER BY id").compactMap { row in
            guard let id = row["id"]?.integer, let name = row["name"]?.text, let args = row["args"]?.text else { return nil }
            return PendingMutation(id: id, name: name, args: try JSONDecoder().decode(JSONValue.self, from: Data(args.utf8)))
        }
    }

    /// The mutations not yet answered by the server (a lost answer means: push again; the
    /// server replays its stored result).
    public func unsent() throws -> [PendingMutation] {
        try outbox(unsentOnly: true)
    }

    /// Puts mutations into the outbox with the ids given (conformance vectors start mid-stream).
    func seedOutbox(_ entries: [PendingMutation]) throws {
        for entry in entries {
            try database.execute(
                "INSERT INTO outbox (id, name, args) VALUES (?, ?, ?)",
                [.integer(entry.id), .text(entry.name), .text(CanonicalJSON.string(entry.args))]
            )
        }
    }

    public func rejections() throws -> [RejectedMutation] {
        try database.query("SELECT id, name, code, message FROM rejections ORDER BY id").compactMap { row in
            guard let id = row["id"]?.integer, let name = row["name"]?.text, let code = row["code"]?.text, let message = row["message"]?.text else {
                return nil
            }
            return RejectedMutation(id: id, name: name, code: code, message: message)
        }
    }

    /// The push answers: refused mutations leave the outbox (remembered as rejections); applied
    /// ones stay until a pull shows their effects (then the optimistic overlay is no longer needed).
    func record(_ results: [MutationResult], for pushed: [PendingMutation]) throws {
        let byId = Dictionary(uniqueKeysWithValues: pushed.map { ($0.id, $0) })
        try database.transaction {
            for result in results {
                switch result.status {
                case .rejected:
                    try database.execute("DELETE FROM outbox WHERE id = ?", [.integer(result.id)])
                    try database.execute(
                        "INSERT OR REPLACE INTO rejections (id, name, code, message) VALUES (?, ?, ?, ?)",
                        [.integer(result.id), .text(byId[result.id]?.name ?? ""), .text(result.code ?? "rejected"), .text(result.message ?? "")]
                    )
                case .applied:
                    try database.execute("UPDATE outbox SET sent = 1 WHERE id = ?", [.integer(result.id)])
                case .retry:
                    break
                }
            }
        }
    }

    // MARK: Applying a page

    /// Applies a verified page in one transaction (SPEC.md §3.3).
    func apply(_ page: PullResponse) throws {
        try database.transaction {
            if page.reset {
                for collection in try collections() {
                    try database.execute("DELETE FROM \(try Self.table(collection))")
                }
            }
            for change in page.changes {
                let table = try ensureTable(change.collection)
                switch change.op {
                case .upsert:
                    try database.execute(
                        """
                        INSERT INTO \(table) (id, version, data) VALUES (?, ?, ?)
                        ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data WHERE excluded.version >= \(table).version
                        """,
                        [.text(change.id), .integer(change.version), .text(CanonicalJSON.string(change.data))]
                    )
                case .delete:
                    try database.execute("DELETE FROM \(table) WHERE id = ?", [.text(change.id)])
                }
            }
            try setMeta("cursor", page.cursor)
            try setMeta("lastMutationId", String(max(page.lastMutationId, try lastMutationId)))
            try database.execute("DELETE FROM outbox WHERE id <= ?", [.integer(page.lastMutationId)])
        }
    }
}
