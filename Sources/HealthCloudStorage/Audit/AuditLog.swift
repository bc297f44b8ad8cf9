import Foundation
import HealthCloudCrypto

/// One sensitive action: who (account and role), did what, to which target, with which
/// result, when and from where.
public struct AuditEntry: Sendable, Equatable {
    public var at: String
    public var actorAccount: Int?
    public var actorRole: String
    public var action: String
    public var target: String
    public var result: String
    public var clientIP: String
    public var requestID: String
    public var detail: String

    public init(
        at: String,
        actorAccount: Int?,
        actorRole: String,
        action: String,
        target: String,
        result: String,
        clientIP: String = "",
        requestID: String = "",
        detail: String = ""
    ) {
        self.at = at
        self.actorAccount = actorAccount
        self.actorRole = actorRole
        self.action = action
        self.target = target
        self.result = result
        self.clientIP = clientIP
        self.requestID = requestID
        self.detail = detail
    }
}

/// The hash chain: each row's hash is SM3 over the previous row's hash, its sequence number
/// and its fields (each length-prefixed, so no two different rows serialize alike).
public enum AuditChain {
    public static let genesis = String(repeating: "0", count: 64)

    public static func hash(previous: String, seq: Int64, entry: AuditEntry) -> String {
        let fields = [
            "HCAUDIT1", previous, String(seq), entry.at, entry.actorAccount.map(String.init) ?? "-", entry.actorRole,
            entry.action, entry.target, entry.result, entry.clientIP, entry.requestID, entry.detail,
        ]
        var bytes: [UInt8] = []
        for field in fields {
            bytes += Array("\(field.utf8.count):".utf8) + Array(field.utf8)
        }
        return Hex.encode(SM3.hash(bytes))
    }

    static func checkpointMessage(seq: Int64, hash: String, signedAt: String) -> [UInt8] {
        Array("HCAUDIT1-CHECKPOINT\u{0}\(seq)\u{0}\(hash)\u{0}\(signedAt)".utf8)
    }
}

/// The append-only audit log with SM2-signed checkpoints every `checkpointInterval` rows.
public struct AuditLog: Sendable {
    let db: Repositories
    public var checkpointInterval: Int64 = 100

    init(db: Repositories) {
        self.db = db
    }

    var signingKey: SM2PrivateKey? { db.protection.keys.signingKey }
    var signingKeyID: String { db.protection.keys.signingKeyID }

    /// Appends several rows, in order, in the transaction of `tx` (or one of their own).
    public func append(_ entries: [AuditEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await db.write { db in
            for entry in entries { _ = try await appendOne(entry, in: db) }
        }
    }

    /// Appends in the open transaction (or one of its own), so an action and its record commit
    /// together. Append last in a transaction: the head row serializes appenders until commit
    /// (a row lock on PostgreSQL, the writer lock on SQLite).
    @discardableResult
    public func append(_ entry: AuditEntry) async throws -> Int64 {
        try await db.write { db in try await appendOne(entry, in: db) }
    }

    /// `db`: the transaction (this log's own `db` may be the pool).
    private func appendOne(_ entry: AuditEntry, in db: Repositories) async throws -> Int64 {
        guard let head = try await db.first("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash") else {
            throw DatabaseError.engine("audit_head is missing")
        }
        let seq = try head.int64("seq")
        let previous = try head.string("hash")
        let hash = AuditChain.hash(previous: previous, seq: seq, entry: entry)
        try await db.execute(
            """
            INSERT INTO audit_log (seq, at, actor_account, actor_role, action, target, result, client_ip, request_id, detail, prev_hash, hash)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """,
            [
                .integer(seq), .text(entry.at), SQLValue(entry.actorAccount.map(Int64.init), SQLValue.integer), .text(entry.actorRole),
                .text(entry.action), .text(entry.target), .text(entry.result), .text(entry.clientIP), .text(entry.requestID),
                .text(entry.detail), .text(previous), .text(hash),
            ]
        )
        try await db.execute("UPDATE audit_head SET hash = $1 WHERE id = 1", [.text(hash)])
        if seq % checkpointInterval == 0 {
            try await writeCheckpoint(seq: seq, hash: hash, signedAt: entry.at, in: db)
        }
        return seq
    }

    /// Signs the current head at `time` (if it is not signed yet); returns its sequence number.
    @discardableResult
    public func checkpoint(at time: Date) async throws -> Int64? {
        try await db.write { db in
            guard let head = try await db.first("SELECT seq, hash FROM audit_head WHERE id = 1") else { return nil }
            let seq = try head.int64("seq")
            guard seq > 0 else { return nil }
            if try await db.first("SELECT seq FROM audit_checkpoints WHERE seq = $1", [.integer(seq)]) != nil { return seq }
            try await writeCheckpoint(seq: seq, hash: try head.string("hash"), signedAt: Timestamp.iso8601(time), in: db)
            return seq
        }
    }

    private func writeCheckpoint(seq: Int64, hash: String, signedAt: String, in db: Repositories) async throws {
        guard let signingKey else { return }
        let signature = try signingKey.signature(for: AuditChain.checkpointMessage(seq: seq, hash: hash, signedAt: signedAt))
        try await db.execute(
            "INSERT INTO audit_checkpoints (seq, hash, signed_at, kid, signature) VALUES ($1, $2, $3, $4, $5)",
            [.integer(seq), .text(hash), .text(signedAt), .text(signingKeyID), .text(Base64URL.encode(signature))]
        )
    }

    public struct Record: Sendable, Equatable {
        public var seq: Int64
        public var entry: AuditEntry
        public var hash: String
    }

    public func records(after seq: Int64, limit: Int) async throws -> [Record] {
        try await db.query(
            """
            SELECT seq, at, actor_account, actor_role, action, target, result, client_ip, request_id, detail, hash
            FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2
            """,
            [.integer(seq), .integer(Int64(limit))]
        ).map { row in
            Record(seq: try row.int64("seq"), entry: try Self.entry(row), hash: try row.string("hash"))
        }
    }

    public struct Verification: Sendable, Equatable, CustomStringConvertible {
        public var rows: Int
        public var checkpoints: Int
        /// The first problem found, with the sequence number where it is.
        public var firstBreak: (seq: Int64, reason: String)?

        public var intact: Bool { firstBreak == nil }

        public var description: String {
            if let firstBreak { return "BROKEN at seq \(firstBreak.seq): \(firstBreak.reason) (\(rows) rows, \(checkpoints) checkpoints read)" }
            return "intact: \(rows) rows chained, \(checkpoints) signed checkpoints verified"
        }

        public static func == (a: Verification, b: Verification) -> Bool {
            a.rows == b.rows && a.checkpoints == b.checkpoints && a.firstBreak?.seq == b.firstBreak?.seq
                && a.firstBreak?.reason == b.firstBreak?.reason
        }
    }

    /// Recomputes the whole chain and checks every checkpoint's signature with the published
    /// keys. Finds edited rows (hash), deleted rows (gaps), reordered rows (previous hash),
    /// a cut tail (head or a checkpoint beyond the last row) and forged checkpoints.
    public func verify(publicKeys: [String: SM2PublicKey], pageSize: Int = 5_000) async throws -> Verification {
        var result = Verification(rows: 0, checkpoints: 0, firstBreak: nil)
        var hashes: [Int64: String] = [:]
        var expectedSeq: Int64 = 1
        var previous = AuditChain.genesis
        var cursor: Int64 = 0
        while true {
            let rows = try await db.query(
                """
                SELECT seq, at, actor_account, actor_role, action, target, result, client_ip, request_id, detail, prev_hash, hash
                FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2
                """,
                [.integer(cursor), .integer(Int64(pageSize))]
            )
            if rows.isEmpty { break }
            for row in rows {
                let seq = try row.int64("seq")
                cursor = seq
                result.rows += 1
                guard seq == expectedSeq else {
                    result.firstBreak = (expectedSeq, "row \(expectedSeq) is missing (next row is \(seq))")
                    return result
                }
                guard try row.string("prev_hash") == previous else {
                    result.firstBreak = (seq, "previous-hash link does not match row \(seq - 1)")
                    return result
                }
                let recomputed = AuditChain.hash(previous: previous, seq: seq, entry: try Self.entry(row))
                guard recomputed == (try row.string("hash")) else {
                    result.firstBreak = (seq, "row content does not match its hash (edited)")
                    return result
                }
                hashes[seq] = recomputed
                previous = recomputed
                expectedSeq += 1
            }
        }
        let last = expectedSeq - 1
        if let head = try await db.first("SELECT seq, hash FROM audit_head WHERE id = 1") {
            let headSeq = try head.int64("seq")
            let headHash = try head.string("hash")
            if headSeq != last || (last > 0 && headHash != previous) {
                result.firstBreak = (min(headSeq, last) + 1, "the log ends at row \(last) but its head says \(headSeq) (rows removed from the end)")
                return result
            }
        }
        for row in try await db.query("SELECT seq, hash, signed_at, kid, signature FROM audit_checkpoints ORDER BY seq", []) {
            let seq = try row.int64("seq")
            let hash = try row.string("hash")
            guard let chained = hashes[seq] else {
                result.firstBreak = (last + 1, "checkpoint \(seq) is beyond the end of the log at \(last): rows \(last + 1)…\(seq) were removed")
                return result
            }
            guard chained == hash else {
                result.firstBreak = (seq, "checkpoint \(seq) signed a different history")
                return result
            }
            let kid = try row.string("kid")
            guard let key = publicKeys[kid], let signature = Base64URL.decode(try row.string("signature")),
                key.isValidSignature(signature, for: AuditChain.checkpointMessage(seq: seq, hash: hash, signedAt: try row.string("signed_at")))
            else {
                result.firstBreak = (seq, "checkpoint \(seq) signature does not verify with key \(kid)")
                return result
            }
            result.checkpoints += 1
        }
        return result
    }

    private static func entry(_ row: SQLRow) throws -> AuditEntry {
        AuditEntry(
            at: try row.string("at"),
            actorAccount: try row.optionalInt("actor_account"),
            actorRole: try row.string("actor_role"),
            action: try row.string("action"),
            target: try row.string("target"),
            result: try row.string("result"),
            clientIP: try row.string("client_ip"),
            requestID: try row.string("request_id"),
            detail: try row.string("detail")
        )
    }
}
