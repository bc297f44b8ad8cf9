extension Migration {
    /// Migration 3, of identity.
    static let identitySessionsAndAudit = Migration(version: 3, name: "identity, sessions and audit") { dialect in
        var statements = [
            """
            CREATE TABLE accounts (
                id \(dialect.autoIncrementPrimaryKey),
                kind TEXT NOT NULL CHECK (kind IN ('patient', 'staff')),
                username TEXT UNIQUE,
                display_name TEXT NOT NULL,
                name_cipher TEXT,
                phone_cipher TEXT,
                phone_index TEXT UNIQUE,
                id_number_cipher TEXT,
                id_number_index TEXT UNIQUE,
                password_hash TEXT,
                totp_cipher TEXT,
                totp_confirmed BIGINT NOT NULL DEFAULT 0,
                totp_last_counter BIGINT NOT NULL DEFAULT 0,
                failed_attempts BIGINT NOT NULL DEFAULT 0,
                locked_until BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE role_assignments (
                id \(dialect.autoIncrementPrimaryKey),
                account_id BIGINT NOT NULL REFERENCES accounts (id),
                role TEXT NOT NULL,
                scope TEXT NOT NULL,
                granted_at BIGINT NOT NULL,
                granted_by BIGINT,
                mac TEXT NOT NULL,
                UNIQUE (account_id, role, scope)
            )
            """,
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                account_id BIGINT NOT NULL REFERENCES accounts (id),
                kind TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                idle_timeout_seconds BIGINT NOT NULL,
                revoked_at BIGINT,
                revoked_reason TEXT,
                client_ip TEXT
            )
            """,
            "CREATE INDEX sessions_by_account ON sessions (account_id)",
            """
            CREATE TABLE auth_tokens (
                hash TEXT PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh', 'mfa')),
                account_id BIGINT NOT NULL REFERENCES accounts (id),
                session_id TEXT REFERENCES sessions (id),
                expires_at BIGINT NOT NULL,
                used_at BIGINT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX auth_tokens_by_session ON auth_tokens (session_id)",
            """
            CREATE TABLE otp_codes (
                id \(dialect.autoIncrementPrimaryKey),
                phone_index TEXT NOT NULL,
                code_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT,
                attempts BIGINT NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX otp_codes_by_phone ON otp_codes (phone_index, created_at)",
            "CREATE TABLE audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL)",
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '\(AuditChain.genesis)')",
            """
            CREATE TABLE audit_log (
                seq BIGINT PRIMARY KEY,
                at TEXT NOT NULL,
                actor_account BIGINT,
                actor_role TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                result TEXT NOT NULL,
                client_ip TEXT NOT NULL,
                request_id TEXT NOT NULL,
                detail TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE audit_checkpoints (
                seq BIGINT PRIMARY KEY,
                hash TEXT NOT NULL,
                signed_at TEXT NOT NULL,
                kid TEXT NOT NULL,
                signature TEXT NOT NULL
            )
            """,
        ]
        // Append-only at the engine too (defence in depth: the SM3 chain catches what a DBA does anyway).
        switch dialect {
        case .sqlite:
            statements += [
                "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
                "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
            ]
        case .postgresql:
            statements += [
                """
                CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$
                """,
                "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
            ]
        }
        return statements
    }
}
