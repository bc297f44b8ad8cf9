import HealthCloudCrypto

/// Sessions (one per sign-in; the family every refresh token of that sign-in belongs to),
/// bearer tokens stored as SM3 hashes, and phone codes.
public struct SessionRepository: Sendable {
    let db: Repositories

    public enum TokenKind: String, Sendable {
        case access, refresh, mfa
    }

    public struct Session: Sendable, Equatable {
        public var id: String
        public var accountId: Int
        public var kind: String
        public var createdAt: Int64
        public var lastSeenAt: Int64
        public var expiresAt: Int64
        public var idleTimeoutSeconds: Int64
        public var revokedAt: Int64?
        public var revokedReason: String?
    }

    public struct Token: Sendable, Equatable {
        public var kind: TokenKind
        public var accountId: Int
        public var sessionId: String?
        public var expiresAt: Int64
        public var usedAt: Int64?
    }

    public func createSession(
        id: String,
        accountId: Int,
        kind: String,
        now: Int64,
        expiresAt: Int64,
        idleTimeout: Int64,
        clientIP: String
    ) async throws {
        try await db.write { db in
            try await db.execute(
                """
                INSERT INTO sessions (id, account_id, kind, created_at, last_seen_at, expires_at, idle_timeout_seconds, client_ip)
                VALUES ($1, $2, $3, $4, $4, $5, $6, $7)
                """,
                [.text(id), .integer(Int64(accountId)), .text(kind), .integer(now), .integer(expiresAt), .integer(idleTimeout), .text(clientIP)]
            )
        }
    }

    public func session(id: String) async throws -> Session? {
        try await db.first(
            """
            SELECT id, account_id, kind, created_at, last_seen_at, expires_at, idle_timeout_seconds, revoked_at, revoked_reason
            FROM sessions WHERE id = $1
            """,
            [.text(id)]
        ).map(Self.session)
    }

    /// Marks the session revoked (once; the first reason stays) and deletes its live tokens.
    public func revokeSession(id: String, reason: String, now: Int64) async throws {
        try await db.write { db in
            try await db.execute(
                "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL",
                [.integer(now), .text(reason), .text(id)]
            )
            try await db.execute("DELETE FROM auth_tokens WHERE session_id = $1 AND kind = 'access'", [.text(id)])
        }
    }

    /// Revokes every live session of an account (password reset, role change, account lock).
    public func revokeAllSessions(accountId: Int, reason: String, now: Int64) async throws {
        try await db.write { db in
            try await db.execute(
                "DELETE FROM auth_tokens WHERE kind = 'access' AND session_id IN (SELECT id FROM sessions WHERE account_id = $1)",
                [.integer(Int64(accountId))]
            )
            try await db.execute(
                "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE account_id = $3 AND revoked_at IS NULL",
                [.integer(now), .text(reason), .integer(Int64(accountId))]
            )
        }
    }

    /// Moves the idle clock; a write only when it moved by at least `granularity` seconds,
    /// so authenticated reads do not all become writes.
    public func touch(sessionId: String, now: Int64, granularity: Int64 = 60) async throws {
        try await db.write { db in
            try await db.execute(
                "UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at <= $3",
                [.integer(now), .text(sessionId), .integer(now - granularity)]
            )
        }
    }

    public func insertToken(hash: String, kind: TokenKind, accountId: Int, sessionId: String?, expiresAt: Int64, now: Int64) async throws {
        try await db.write { db in
            try await db.execute(
                """
                INSERT INTO auth_tokens (hash, kind, account_id, session_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                """,
                [
                    .text(hash), .text(kind.rawValue), .integer(Int64(accountId)), SQLValue(sessionId, SQLValue.text), .integer(expiresAt),
                    .integer(now),
                ]
            )
        }
    }

    public func token(hash: String) async throws -> Token? {
        try await db.first("SELECT kind, account_id, session_id, expires_at, used_at FROM auth_tokens WHERE hash = $1", [.text(hash)])
            .map { row in
                Token(
                    kind: TokenKind(rawValue: try row.string("kind")) ?? .access,
                    accountId: try row.int("account_id"),
                    sessionId: try row.optionalString("session_id"),
                    expiresAt: try row.int64("expires_at"),
                    usedAt: try row["used_at"] == .null ? nil : row.int64("used_at")
                )
            }
    }

    /// Uses a one-time token (refresh or MFA): true for exactly one caller, however many race.
    public func consume(hash: String, now: Int64) async throws -> Bool {
        try await db.write { db in
            !(try await db.query(
                "UPDATE auth_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL RETURNING hash",
                [.integer(now), .text(hash)]
            )).isEmpty
        }
    }

    /// Ends the access tokens of a session (after a refresh, the old access token stops working).
    public func deleteAccessTokens(sessionId: String) async throws {
        try await db.write { db in
            try await db.execute("DELETE FROM auth_tokens WHERE session_id = $1 AND kind = 'access'", [.text(sessionId)])
        }
    }

    /// The session and account behind an access token, in one query (the hot path of every authenticated request).
    public struct AccessLookup: Sendable {
        public var tokenExpiresAt: Int64
        public var session: Session
        public var accountKind: String
        public var displayName: String

        public init(tokenExpiresAt: Int64, session: Session, accountKind: String, displayName: String) {
            self.tokenExpiresAt = tokenExpiresAt
            self.session = session
            self.accountKind = accountKind
            self.displayName = displayName
        }
    }

    // MARK: Phone codes

    public func insertCode(phoneIndex: String, codeHash: String, now: Int64, expiresAt: Int64) async throws {
        try await db.write { db in
            // A new code replaces any earlier one still open.
            try await db.execute("UPDATE otp_codes SET used_at = $1 WHERE phone_index = $2 AND used_at IS NULL", [.integer(now), .text(phoneIndex)])
            try await db.execute(
                "INSERT INTO otp_codes (phone_index, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                [.text(phoneIndex), .text(codeHash), .integer(now), .integer(expiresAt)]
            )
        }
    }

    /// How many codes were sent to the phone since `since`, and when the first and latest were sent.
    public func codesSent(phoneIndex: String, since: Int64) async throws -> (count: Int, earliest: Int64?, latest: Int64?) {
        let row = try await db.first(
            "SELECT COUNT(*) AS n, MIN(created_at) AS earliest, MAX(created_at) AS latest FROM otp_codes WHERE phone_index = $1 AND created_at >= $2",
            [.text(phoneIndex), .integer(since)]
        )
        return (
            try row?.int("n") ?? 0,
            try row.flatMap { $0["earliest"] == .null ? nil : try $0.int64("earliest") },
            try row.flatMap { $0["latest"] == .null ? nil : try $0.int64("latest") }
        )
    }

    /// Withdraws a code that could not be delivered, so it counts against no rate limit.
    public func withdrawCode(phoneIndex: String, codeHash: String) async throws {
        try await db.write { db in
            try await db.execute("DELETE FROM otp_codes WHERE phone_index = $1 AND code_hash = $2", [.text(phoneIndex), .text(codeHash)])
        }
    }

    public enum CodeCheck: Sendable, Equatable {
        case accepted
        case wrong(attemptsLeft: Int)
        case expiredOrMissing
    }

    /// Checks a code against the phone's open code, counting attempts; the code dies after
    /// `maxAttempts` wrong tries or its first success.
    public func checkCode(phoneIndex: String, codeHash: String, now: Int64, maxAttempts: Int) async throws -> CodeCheck {
        try await db.write { db in
            guard
                let row = try await db.first(
                    """
                    SELECT id, code_hash, attempts FROM otp_codes
                    WHERE phone_index = $1 AND used_at IS NULL AND expires_at > $2 ORDER BY id DESC LIMIT 1
                    """,
                    [.text(phoneIndex), .integer(now)]
                )
            else { return .expiredOrMissing }
            let id = try row.int64("id")
            if constantTimeEquals(Array(try row.string("code_hash").utf8), Array(codeHash.utf8)) {
                try await db.execute("UPDATE otp_codes SET used_at = $1 WHERE id = $2", [.integer(now), .integer(id)])
                return .accepted
            }
            let attempts = try row.int("attempts") + 1
            if attempts >= maxAttempts {
                try await db.execute(
                    "UPDATE otp_codes SET attempts = $1, used_at = $2 WHERE id = $3",
                    [.integer(Int64(attempts)), .integer(now), .integer(id)]
                )
            } else {
                try await db.execute("UPDATE otp_codes SET attempts = $1 WHERE id = $2", [.integer(Int64(attempts)), .integer(id)])
            }
            return .wrong(attemptsLeft: max(0, maxAttempts - attempts))
        }
    }

    static func session(_ row: SQLRow) throws -> Session {
        Session(
            id: try row.string("id"),
            accountId: try row.int("account_id"),
            kind: try row.string("kind"),
            createdAt: try row.int64("created_at"),
            lastSeenAt: try row.int64("last_seen_at"),
            expiresAt: try row.int64("expires_at"),
            idleTimeoutSeconds: try row.int64("idle_timeout_seconds"),
            revokedAt: row["revoked_at"] == .null ? nil : try row.int64("revoked_at"),
            revokedReason: try row.optionalString("revoked_reason")
        )
    }
}
