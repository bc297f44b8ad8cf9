extension Migration {
    /// Migration 6, of sync.
    static let syncChangeLog = Migration(version: 6, name: "offline sync change log") { dialect in
        [
            // The current state of every record the sync exposes (SyncProtocol/SPEC.md §1):
            // who may read it (role, path) and the global version of its last change.
            """
            CREATE TABLE sync_records (
                collection TEXT NOT NULL,
                record_id TEXT NOT NULL,
                role TEXT NOT NULL,
                path TEXT NOT NULL,
                version BIGINT NOT NULL,
                deleted BIGINT NOT NULL,
                data TEXT,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (collection, record_id)
            )
            """,
            "CREATE UNIQUE INDEX sync_records_by_version ON sync_records (version)",
            // One row: the last version handed out (writers update it in their transaction,
            // so versions commit in order) and the highest tombstone version purged.
            "CREATE TABLE sync_state (id BIGINT PRIMARY KEY CHECK (id = 1), last_version BIGINT NOT NULL, purged_through BIGINT NOT NULL)",
            "INSERT INTO sync_state (id, last_version, purged_through) VALUES (1, 0, 0)",
            """
            CREATE TABLE sync_clients (
                client_id TEXT NOT NULL,
                account_id BIGINT NOT NULL,
                last_mutation_id BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (client_id, account_id)
            )
            """,
            """
            CREATE TABLE sync_mutations (
                client_id TEXT NOT NULL,
                account_id BIGINT NOT NULL,
                mutation_id BIGINT NOT NULL,
                name TEXT NOT NULL,
                body_digest TEXT NOT NULL,
                status TEXT NOT NULL,
                code TEXT,
                message TEXT,
                at BIGINT NOT NULL,
                PRIMARY KEY (client_id, account_id, mutation_id)
            )
            """,
            """
            CREATE TABLE notifications (
                id \(dialect.autoIncrementPrimaryKey),
                patient_id BIGINT NOT NULL,
                kind TEXT NOT NULL,
                title TEXT NOT NULL,
                body TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                read_at BIGINT
            )
            """,
            "CREATE INDEX notifications_by_patient ON notifications (patient_id, id)",
        ]
    }
}
