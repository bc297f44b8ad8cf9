import HealthCloudCrypto
import HealthCloudDomain

/// Accounts, role assignments, sessions, tokens and phone codes. Personal data goes in
/// sealed and comes out opened only through the explicit `personalData` read.
public struct IdentityRepository: Sendable {
    let db: Repositories
    public var protection: DataProtection { db.protection }

    // MARK: Accounts

    public struct StaffCredentials: Sendable {
        public var accountId: Int
        public var passwordHash: String
        public var failedAttempts: Int
        public var lockedUntil: Int64
        public var totpSecret: [UInt8]?
        public var totpConfirmed: Bool
        public var totpLastCounter: Int64
        /// Whether the account opened a session from the asking client recently (see
        /// `staffCredentials(username:client:since:)`).
        public var recognisedClient = false
    }

    public struct AccountSummary: Sendable, Equatable {
        public var id: Int
        public var kind: String
        public var username: String?
        public var displayName: String
    }

    public struct PersonalRecord: Sendable, Equatable {
        public var name: String?
        public var phone: String?
        public var idNumber: String?

        public init(name: String?, phone: String?, idNumber: String?) {
            self.name = name
            self.phone = phone
            self.idNumber = idNumber
        }
    }

    /// Creates a staff account with its role assignments; returns its id.
    public func createStaff(
        username: String,
        displayName: String,
        passwordHash: String,
        totpSecret: [UInt8]?,
        totpConfirmed: Bool,
        assignments: [RoleAssignment],
        now: Int64
    ) async throws -> Int {
        let totpCipher = try totpSecret.map { try protection.seal(Hex.encode($0)) }
        return try await db.write { db in
            guard
                let row = try await db.first(
                    """
                    INSERT INTO accounts (kind, username, display_name, password_hash, totp_cipher, totp_confirmed, created_at)
                    VALUES ('staff', $1, $2, $3, $4, $5, $6) RETURNING id
                    """,
                    [
                        .text(username), .text(displayName), .text(passwordHash), SQLValue(totpCipher, SQLValue.text),
                        SQLValue(totpConfirmed), .integer(now),
                    ]
                )
            else { throw DatabaseError.engine("no id returned") }
            let id = try row.int("id")
            for assignment in assignments {
                try await db.identity.insertAssignment(accountId: id, assignment: assignment, grantedBy: nil, now: now)
            }
            return id
        }
    }

    /// The patient with this phone, created on first sight (phone-code login registers).
    public func findOrCreatePatient(phone: String, now: Int64) async throws -> (id: Int, created: Bool) {
        let index = protection.blindIndex("phone", phone)
        if let row = try await db.first("SELECT id FROM accounts WHERE phone_index = $1", [.text(index)]) {
            return (try row.int("id"), false)
        }
        let sealed = try protection.seal(phone)
        do {
            return try await db.write { db in
                guard
                    let row = try await db.first(
                        """
                        INSERT INTO accounts (kind, display_name, phone_cipher, phone_index, created_at)
                        VALUES ('patient', $1, $2, $3, $4) RETURNING id
                        """,
                        [.text(PersonalData.maskPhone(phone)), .text(sealed), .text(index), .integer(now)]
                    )
                else { throw DatabaseError.engine("no id returned") }
                let id = try row.int("id")
                try await db.identity.insertAssignment(
                    accountId: id,
                    assignment: RoleAssignment(role: .patient, scope: .patient(id)),
                    grantedBy: nil,
                    now: now
                )
                try await db.notifications.create(
                    patientId: id,
                    kind: "welcome",
                    title: "欢迎使用上海健康云",
                    body: "发热请先做线上预检，按建议就近前往社区哨点或发热门诊；预约后凭二维码无接触就诊。",
                    now: now
                )
                return (id, true)
            }
        } catch DatabaseError.uniqueViolation {
            // Two first logins raced; the other one created the account.
            guard let row = try await db.first("SELECT id FROM accounts WHERE phone_index = $1", [.text(index)]) else {
                throw DatabaseError.engine("patient account vanished after a unique violation")
            }
            return (try row.int("id"), false)
        }
    }

    /// The blind-index purpose of a *verified* ID number. Only a number that a verification
    /// source confirmed carries an index (unique: one verified holder per number); a
    /// self-declared one is stored sealed without it, so declaring someone else's number
    /// neither collides with nor reveals its holder. Rows indexed under the older `id_number`
    /// purpose (self-declared before verification existed) therefore read as unverified.
    static let verifiedIDNumberPurpose = "id_number.verified"

    /// Records a patient's real name and ID number as confirmed by a verification source
    /// (sealed, with the unique blind index). Throws `uniqueViolation` when another account
    /// holds the number verified.
    public func setRealName(accountId: Int, name: String, idNumber: String) async throws {
        let normalized = idNumber.uppercased()
        try await db.write { db in
            try await db.execute(
                """
                UPDATE accounts SET name_cipher = $1, id_number_cipher = $2, id_number_index = $3, display_name = $4
                WHERE id = $5 AND kind = 'patient'
                """,
                [
                    .text(try protection.seal(name)), .text(try protection.seal(normalized)),
                    .text(protection.blindIndex(Self.verifiedIDNumberPurpose, normalized)), .text(PersonalData.maskName(name)),
                    .integer(Int64(accountId)),
                ]
            )
        }
    }

    /// Records a self-declared name and ID number, not verified: sealed, without an index.
    public func setRealNameClaim(accountId: Int, name: String, idNumber: String) async throws {
        try await db.write { db in
            try await db.execute(
                """
                UPDATE accounts SET name_cipher = $1, id_number_cipher = $2, id_number_index = NULL, display_name = $3
                WHERE id = $4 AND kind = 'patient'
                """,
                [
                    .text(try protection.seal(name)), .text(try protection.seal(idNumber.uppercased())),
                    .text(PersonalData.maskName(name)), .integer(Int64(accountId)),
                ]
            )
        }
    }

    public enum RealNameStatus: String, Sendable, Codable {
        /// No ID number recorded.
        case none
        /// Declared by the patient, not (yet) confirmed by a verification source.
        case unverified
        /// Confirmed by a verification source.
        case verified
    }

    /// Whether the account's ID number is verified: its index is the verified one of the number.
    public func realNameStatus(accountId: Int) async throws -> RealNameStatus {
        guard
            let row = try await db.first("SELECT id_number_cipher, id_number_index FROM accounts WHERE id = $1", [.integer(Int64(accountId))]),
            let cipher = try row.optionalString("id_number_cipher")
        else { return .none }
        let index = try row.optionalString("id_number_index")
        return index == protection.blindIndex(Self.verifiedIDNumberPurpose, try protection.open(cipher)) ? .verified : .unverified
    }

    public func account(id: Int) async throws -> AccountSummary? {
        try await db.first("SELECT id, kind, username, display_name FROM accounts WHERE id = $1", [.integer(Int64(id))]).map(Self.summary)
    }

    /// Accounts holding any role at exactly `scope`, by id, after `after`.
    public func accountIds(holdingRoleAt scope: Scope, after: Int, limit: Int) async throws -> [Int] {
        try await db.query(
            """
            SELECT DISTINCT a.id FROM accounts a JOIN role_assignments r ON r.account_id = a.id
            WHERE r.scope = $1 AND a.id > $2 ORDER BY a.id LIMIT $3
            """,
            [.text(scope.description), .integer(Int64(after)), .integer(Int64(limit))]
        ).map { try $0.int("id") }
    }

    /// Opens the sealed personal data of an account. Callers audit the read.
    public func personalData(accountId: Int) async throws -> PersonalRecord? {
        guard
            let row = try await db.first(
                "SELECT name_cipher, phone_cipher, id_number_cipher FROM accounts WHERE id = $1",
                [.integer(Int64(accountId))]
            )
        else { return nil }
        return PersonalRecord(
            name: try row.optionalString("name_cipher").map(protection.open),
            phone: try row.optionalString("phone_cipher").map(protection.open),
            idNumber: try row.optionalString("id_number_cipher").map(protection.open)
        )
    }

    /// The account holding this ID number verified, if any.
    public func patientId(idNumber: String) async throws -> Int? {
        try await db.first(
            "SELECT id FROM accounts WHERE id_number_index = $1",
            [.text(protection.blindIndex(Self.verifiedIDNumberPurpose, idNumber.uppercased()))]
        ).map { try $0.int("id") }
    }

    /// The staff account with that username.
    public func accountId(username: String) async throws -> Int? {
        try await db.first("SELECT id FROM accounts WHERE username = $1", [.text(username)]).map { try $0.int("id") }
    }

    public func staffCredentials(username: String) async throws -> StaffCredentials? {
        try await staffCredentials(where: "username = $1", .text(username))
    }

    /// The credentials, and in the same query whether the account opened a session from
    /// `client` since `since` (a client the owner uses: sign-in throttles spare it).
    public func staffCredentials(username: String, client: String, since: Int64) async throws -> StaffCredentials? {
        guard !client.isEmpty else { return try await staffCredentials(username: username) }
        guard
            let row = try await db.first(
                """
                SELECT id, password_hash, failed_attempts, locked_until, totp_cipher, totp_confirmed, totp_last_counter,
                       CASE WHEN EXISTS (SELECT 1 FROM sessions s WHERE s.account_id = accounts.id AND s.client_ip = $2 AND s.created_at >= $3)
                            THEN 1 ELSE 0 END AS recognised
                FROM accounts WHERE username = $1 AND kind = 'staff'
                """,
                [.text(username), .text(client), .integer(since)]
            )
        else { return nil }
        var credentials = try Self.credentials(row, protection: protection)
        credentials.recognisedClient = try row.bool("recognised")
        return credentials
    }

    public func staffCredentials(accountId: Int) async throws -> StaffCredentials? {
        try await staffCredentials(where: "id = $1", .integer(Int64(accountId)))
    }

    private func staffCredentials(where condition: String, _ key: SQLValue) async throws -> StaffCredentials? {
        guard
            let row = try await db.first(
                """
                SELECT id, password_hash, failed_attempts, locked_until, totp_cipher, totp_confirmed, totp_last_counter
                FROM accounts WHERE \(condition) AND kind = 'staff'
                """,
                [key]
            )
        else { return nil }
        return try Self.credentials(row, protection: protection)
    }

    private static func credentials(_ row: SQLRow, protection: DataProtection) throws -> StaffCredentials {
        StaffCredentials(
            accountId: try row.int("id"),
            passwordHash: try row.optionalString("password_hash") ?? "",
            failedAttempts: try row.int("failed_attempts"),
            lockedUntil: try row.int64("locked_until"),
            totpSecret: try row.optionalString("totp_cipher").map { Hex.decode(try protection.open($0)) ?? [] },
            totpConfirmed: try row.bool("totp_confirmed"),
            totpLastCounter: try row.int64("totp_last_counter")
        )
    }

    /// Stores the counter of an accepted TOTP code, only if it is newer than the last one:
    /// returns false for a replayed code.
    public func acceptTOTPCounter(accountId: Int, counter: Int64, confirm: Bool) async throws -> Bool {
        try await db.write { db in
            let rows = try await db.query(
                """
                UPDATE accounts SET totp_last_counter = $1, totp_confirmed = CASE WHEN $3 = 1 THEN 1 ELSE totp_confirmed END
                WHERE id = $2 AND totp_last_counter < $1 RETURNING id
                """,
                [.integer(counter), .integer(Int64(accountId)), .integer(confirm ? 1 : 0)]
            )
            return !rows.isEmpty
        }
    }

    public func setTOTPSecret(accountId: Int, secret: [UInt8]) async throws {
        let sealed = try protection.seal(Hex.encode(secret))
        try await db.write { db in
            try await db.execute(
                "UPDATE accounts SET totp_cipher = $1, totp_confirmed = 0, totp_last_counter = 0 WHERE id = $2",
                [.text(sealed), .integer(Int64(accountId))]
            )
        }
    }

    public func setPasswordHash(accountId: Int, hash: String) async throws {
        try await db.write { db in
            try await db.execute("UPDATE accounts SET password_hash = $1 WHERE id = $2", [.text(hash), .integer(Int64(accountId))])
        }
    }

    // MARK: Role assignments

    public struct StoredAssignment: Sendable, Equatable {
        public var id: Int
        public var assignment: RoleAssignment
        /// False when the row's seal does not match its content: edited behind the server's back.
        public var intact: Bool
    }

    public func assignments(accountId: Int) async throws -> [StoredAssignment] {
        try await db.query(
            "SELECT id, role, scope, granted_at, mac FROM role_assignments WHERE account_id = $1 ORDER BY id",
            [.integer(Int64(accountId))]
        ).map { try storedAssignment($0, accountId: accountId, prefix: "") }
    }

    /// A role row with its seal checked; columns named `<prefix>id`, `<prefix>role`, ….
    func storedAssignment(_ row: SQLRow, accountId: Int, prefix: String) throws -> StoredAssignment {
        let id = try row.int(prefix + "id")
        guard let role = Role(rawValue: try row.string(prefix + "role")), let scope = Scope(try row.string(prefix + "scope")) else {
            return StoredAssignment(id: id, assignment: RoleAssignment(role: .patient, scope: .patient(0)), intact: false)
        }
        let expected = protection.assignmentMAC(accountId: accountId, role: role, scope: scope, grantedAt: try row.int64(prefix + "granted_at"))
        let intact = constantTimeEquals(Array(expected.utf8), Array(try row.string(prefix + "mac").utf8))
        return StoredAssignment(id: id, assignment: RoleAssignment(role: role, scope: scope), intact: intact)
    }

    /// The session, account and sealed role rows behind an access token, in one query: the
    /// hot path of every authenticated request.
    public func lookupAccess(tokenHash: String) async throws -> (SessionRepository.AccessLookup, [StoredAssignment])? {
        let rows = try await db.query(
            """
            SELECT t.expires_at AS token_expires_at, s.id, s.account_id, s.kind, s.created_at, s.last_seen_at, s.expires_at,
                   s.idle_timeout_seconds, s.revoked_at, s.revoked_reason, a.kind AS account_kind, a.display_name,
                   r.id AS r_id, r.role AS r_role, r.scope AS r_scope, r.granted_at AS r_granted_at, r.mac AS r_mac
            FROM auth_tokens t
            JOIN sessions s ON s.id = t.session_id
            JOIN accounts a ON a.id = t.account_id
            LEFT JOIN role_assignments r ON r.account_id = a.id
            WHERE t.hash = $1 AND t.kind = 'access'
            ORDER BY r.id
            """,
            [.text(tokenHash)]
        )
        guard let first = rows.first else { return nil }
        let lookup = SessionRepository.AccessLookup(
            tokenExpiresAt: try first.int64("token_expires_at"),
            session: try SessionRepository.session(first),
            accountKind: try first.string("account_kind"),
            displayName: try first.string("display_name")
        )
        let assignments = try rows.filter { $0["r_id"] != .null }.map { try storedAssignment($0, accountId: lookup.session.accountId, prefix: "r_") }
        return (lookup, assignments)
    }

    public func grant(_ assignment: RoleAssignment, to accountId: Int, by grantor: Int?, now: Int64) async throws {
        try await db.write { db in
            try await db.identity.insertAssignment(accountId: accountId, assignment: assignment, grantedBy: grantor, now: now)
        }
    }

    /// Removes one assignment; returns whether it existed.
    public func revoke(_ assignment: RoleAssignment, from accountId: Int) async throws -> Bool {
        try await db.write { db in
            !(try await db.query(
                "DELETE FROM role_assignments WHERE account_id = $1 AND role = $2 AND scope = $3 RETURNING id",
                [.integer(Int64(accountId)), .text(assignment.role.rawValue), .text(assignment.scope.description)]
            )).isEmpty
        }
    }

    private func insertAssignment(accountId: Int, assignment: RoleAssignment, grantedBy: Int?, now: Int64) async throws {
        try await db.execute(
            """
            INSERT INTO role_assignments (account_id, role, scope, granted_at, granted_by, mac) VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [
                .integer(Int64(accountId)), .text(assignment.role.rawValue), .text(assignment.scope.description), .integer(now),
                SQLValue(grantedBy.map(Int64.init), SQLValue.integer),
                .text(protection.assignmentMAC(accountId: accountId, role: assignment.role, scope: assignment.scope, grantedAt: now)),
            ]
        )
    }

    private static func summary(_ row: SQLRow) throws -> AccountSummary {
        AccountSummary(
            id: try row.int("id"),
            kind: try row.string("kind"),
            username: try row.optionalString("username"),
            displayName: try row.string("display_name")
        )
    }
}
