/// The product's schema, as one ordered list of migrations. Features append theirs.
public enum Schema {
    public static let migrations: [Migration] = [
        Migration(version: 1, name: "organisation hierarchy") { dialect in
            [
                """
                CREATE TABLE districts (
                    code TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    name_en TEXT NOT NULL,
                    population BIGINT NOT NULL CHECK (population >= 0)
                )
                """,
                """
                CREATE TABLE institutions (
                    id \(dialect.autoIncrementPrimaryKey),
                    name TEXT NOT NULL,
                    level TEXT NOT NULL CHECK (level IN ('municipal', 'district')),
                    kind TEXT NOT NULL CHECK (kind IN ('general', 'specialized', 'infectious', 'tcm', 'pediatric', 'maternity', 'community')),
                    district_code TEXT NOT NULL REFERENCES districts (code),
                    UNIQUE (name)
                )
                """,
                "CREATE INDEX institutions_by_district ON institutions (district_code)",
                """
                CREATE TABLE campuses (
                    id \(dialect.autoIncrementPrimaryKey),
                    institution_id BIGINT NOT NULL REFERENCES institutions (id),
                    name TEXT NOT NULL,
                    district_code TEXT NOT NULL REFERENCES districts (code),
                    latitude DOUBLE PRECISION NOT NULL,
                    longitude DOUBLE PRECISION NOT NULL,
                    UNIQUE (institution_id, name)
                )
                """,
                "CREATE INDEX campuses_by_institution ON campuses (institution_id)",
                "CREATE INDEX campuses_by_district ON campuses (district_code)",
                """
                CREATE TABLE sites (
                    id \(dialect.autoIncrementPrimaryKey),
                    campus_id BIGINT NOT NULL REFERENCES campuses (id),
                    kind TEXT NOT NULL CHECK (kind IN ('fever_clinic', 'fever_sentinel')),
                    name TEXT NOT NULL,
                    latitude DOUBLE PRECISION NOT NULL,
                    longitude DOUBLE PRECISION NOT NULL,
                    UNIQUE (campus_id, kind)
                )
                """,
                "CREATE INDEX sites_by_kind ON sites (kind)",
            ]
        },
        Migration(version: 2, name: "demo pipeline bookkeeping") { _ in
            [
                """
                CREATE TABLE demo_steps (
                    name TEXT PRIMARY KEY,
                    completed_at TEXT NOT NULL,
                    detail TEXT NOT NULL
                )
                """
            ]
        },
        Migration(version: 3, name: "identity, sessions and audit") { dialect in
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
        },
        Migration(version: 4, name: "daily reporting and quality control") { dialect in
            let counts = ReportColumns.all.map { "\($0.column) BIGINT" }.joined(separator: ",\n    ")
            return [
                """
                CREATE TABLE catalog_items (
                    code TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('drug', 'material')),
                    name TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    active BIGINT NOT NULL DEFAULT 1
                )
                """,
                "CREATE TABLE qc_rule_tables (version BIGINT PRIMARY KEY, body TEXT NOT NULL, saved_at BIGINT NOT NULL, saved_by BIGINT)",
                """
                CREATE TABLE reports (
                    campus_id BIGINT NOT NULL REFERENCES campuses (id),
                    report_date TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    first_submitted_at BIGINT NOT NULL,
                    submitted_at BIGINT NOT NULL,
                    late BIGINT NOT NULL,
                    warnings BIGINT NOT NULL,
                    \(counts),
                    drugs TEXT,
                    materials TEXT,
                    PRIMARY KEY (campus_id, report_date)
                )
                """,
                "CREATE INDEX reports_by_date ON reports (report_date, campus_id)",
                """
                CREATE TABLE report_versions (
                    campus_id BIGINT NOT NULL REFERENCES campuses (id),
                    report_date TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('current', 'superseded', 'pending_approval', 'declined')),
                    status TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    findings TEXT NOT NULL,
                    submitted_at BIGINT NOT NULL,
                    submitted_by BIGINT,
                    correction_reason TEXT,
                    decided_by BIGINT,
                    decided_at BIGINT,
                    PRIMARY KEY (campus_id, report_date, version)
                )
                """,
                """
                CREATE TABLE report_rejections (
                    id \(dialect.autoIncrementPrimaryKey),
                    campus_id BIGINT NOT NULL REFERENCES campuses (id),
                    report_date TEXT NOT NULL,
                    submitted_at BIGINT NOT NULL,
                    submitted_by BIGINT,
                    findings TEXT NOT NULL
                )
                """,
                "CREATE INDEX report_rejections_by_date ON report_rejections (report_date, campus_id)",
                """
                CREATE TABLE qc_findings (
                    id \(dialect.autoIncrementPrimaryKey),
                    campus_id BIGINT NOT NULL REFERENCES campuses (id),
                    report_date TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    rule TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    field TEXT,
                    message TEXT NOT NULL
                )
                """,
                "CREATE INDEX qc_findings_by_date ON qc_findings (report_date, campus_id)",
                "CREATE INDEX qc_findings_by_campus ON qc_findings (campus_id, report_date)",
            ]
        },
        Migration(version: 5, name: "cockpit rollups and warnings") { dialect in
            let counts = ReportColumns.all.map { "\($0.column) BIGINT" }.joined(separator: ",\n    ")
            return [
                // District and city figures per day, kept current by every ingest and correction
                // (campus figures are the campus's own row in `reports`).
                """
                CREATE TABLE rollups (
                    scope TEXT NOT NULL,
                    report_date TEXT NOT NULL,
                    parent TEXT NOT NULL,
                    campuses_reported BIGINT NOT NULL,
                    \(counts),
                    stock TEXT NOT NULL,
                    PRIMARY KEY (scope, report_date)
                )
                """,
                "CREATE INDEX rollups_by_parent ON rollups (parent, report_date)",
                "CREATE TABLE warning_rule_tables (version BIGINT PRIMARY KEY, body TEXT NOT NULL, saved_at BIGINT NOT NULL, saved_by BIGINT)",
                """
                CREATE TABLE warnings (
                    id \(dialect.autoIncrementPrimaryKey),
                    scope TEXT NOT NULL,
                    district_code TEXT,
                    campus_id BIGINT,
                    rule_id TEXT NOT NULL,
                    title TEXT NOT NULL,
                    pressure TEXT NOT NULL,
                    metric TEXT NOT NULL,
                    method TEXT NOT NULL,
                    level TEXT NOT NULL CHECK (level IN ('blue', 'yellow', 'orange', 'red')),
                    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
                    value DOUBLE PRECISION NOT NULL,
                    threshold DOUBLE PRECISION NOT NULL,
                    statistic TEXT,
                    opened_date TEXT NOT NULL,
                    last_fired_date TEXT NOT NULL,
                    clear_days BIGINT NOT NULL,
                    opened_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    acknowledged_by BIGINT,
                    acknowledged_at BIGINT,
                    ack_note TEXT,
                    resolved_at BIGINT,
                    resolved_by BIGINT,
                    resolution TEXT
                )
                """,
                // A persisting condition updates its warning: one unresolved warning per scope and rule.
                "CREATE UNIQUE INDEX warnings_one_active ON warnings (scope, rule_id) WHERE status <> 'resolved'",
                "CREATE INDEX warnings_by_district ON warnings (district_code, status)",
                "CREATE INDEX warnings_by_status ON warnings (status, level)",
                """
                CREATE TABLE warning_events (
                    id \(dialect.autoIncrementPrimaryKey),
                    warning_id BIGINT NOT NULL REFERENCES warnings (id),
                    kind TEXT NOT NULL,
                    level TEXT NOT NULL,
                    report_date TEXT,
                    at BIGINT NOT NULL,
                    by_account BIGINT,
                    note TEXT,
                    deliver BIGINT NOT NULL,
                    delivered_at BIGINT
                )
                """,
                "CREATE INDEX warning_events_by_warning ON warning_events (warning_id)",
                "CREATE INDEX warning_events_to_deliver ON warning_events (deliver, delivered_at)",
                "CREATE TABLE warning_evaluations (scope TEXT PRIMARY KEY, last_date TEXT NOT NULL)",
            ]
        },
        Migration(version: 6, name: "offline sync change log") { dialect in
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
        },
        Migration(version: 7, name: "patient journey") { dialect in
            [
                // A site's windows of one day, made when first asked for; `booked` only moves
                // through conditional updates, so capacity holds under concurrent booking.
                """
                CREATE TABLE slots (
                    id \(dialect.autoIncrementPrimaryKey),
                    site_id BIGINT NOT NULL REFERENCES sites (id),
                    date TEXT NOT NULL,
                    starts_at BIGINT NOT NULL,
                    ends_at BIGINT NOT NULL,
                    capacity BIGINT NOT NULL CHECK (capacity >= 0),
                    booked BIGINT NOT NULL CHECK (booked >= 0 AND booked <= capacity),
                    UNIQUE (site_id, starts_at)
                )
                """,
                "CREATE INDEX slots_by_site_date ON slots (site_id, date)",
                "CREATE INDEX slots_by_date ON slots (date, site_id)",
                """
                CREATE TABLE prechecks (
                    id \(dialect.autoIncrementPrimaryKey),
                    patient_id BIGINT NOT NULL,
                    questionnaire_version BIGINT NOT NULL,
                    rule_table_version BIGINT NOT NULL,
                    answers TEXT NOT NULL,
                    level TEXT NOT NULL CHECK (level IN ('home_care', 'sentinel', 'fever_clinic', 'emergency')),
                    reasons TEXT NOT NULL,
                    advice TEXT NOT NULL,
                    latitude DOUBLE PRECISION,
                    longitude DOUBLE PRECISION,
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX prechecks_by_patient ON prechecks (patient_id, id)",
                """
                CREATE TABLE appointments (
                    id \(dialect.autoIncrementPrimaryKey),
                    patient_id BIGINT NOT NULL,
                    site_id BIGINT NOT NULL REFERENCES sites (id),
                    slot_id BIGINT NOT NULL REFERENCES slots (id),
                    date TEXT NOT NULL,
                    starts_at BIGINT NOT NULL,
                    ends_at BIGINT NOT NULL,
                    precheck_id BIGINT NOT NULL REFERENCES prechecks (id),
                    level TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'checked_in', 'no_show')),
                    pass_id TEXT NOT NULL UNIQUE,
                    pass_token TEXT,
                    created_at BIGINT NOT NULL,
                    cancelled_at BIGINT,
                    checked_in_at BIGINT,
                    checked_in_by BIGINT,
                    queue_number BIGINT,
                    reminded_at BIGINT,
                    grade TEXT
                )
                """,
                // One active appointment per patient per day, whatever the race.
                "CREATE UNIQUE INDEX appointments_one_active_per_day ON appointments (patient_id, date) WHERE status IN ('booked', 'checked_in')",
                "CREATE INDEX appointments_by_patient ON appointments (patient_id, id)",
                "CREATE INDEX appointments_by_site_date ON appointments (site_id, date, status)",
                "CREATE INDEX appointments_open ON appointments (status, ends_at)",
                "CREATE TABLE site_queues (site_id BIGINT NOT NULL, date TEXT NOT NULL, last_number BIGINT NOT NULL, PRIMARY KEY (site_id, date))",
                """
                CREATE TABLE gradings (
                    id \(dialect.autoIncrementPrimaryKey),
                    appointment_id BIGINT NOT NULL REFERENCES appointments (id),
                    grade TEXT NOT NULL CHECK (grade IN ('mild', 'moderate', 'severe', 'critical')),
                    routing TEXT NOT NULL,
                    note TEXT,
                    graded_by BIGINT NOT NULL,
                    graded_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX gradings_by_appointment ON gradings (appointment_id, id)",
                // Scans a kiosk verified offline and uploaded later: one row per (kiosk, pass).
                """
                CREATE TABLE offline_checkins (
                    kiosk_account BIGINT NOT NULL,
                    pass_id TEXT NOT NULL,
                    scanned_at BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    code TEXT,
                    queue_number BIGINT,
                    received_at BIGINT NOT NULL,
                    PRIMARY KEY (kiosk_account, pass_id)
                )
                """,
            ]
        },
        Migration(version: 8, name: "sync change announced by trigger") { dialect in
            // PostgreSQL: every move of the version counter notifies the listening instances from
            // inside the writer's statement, not by one more round trip while the counter row is
            // locked (every sync writer waits on that lock). SQLite instances poll the counter.
            guard dialect == .postgresql else { return [] }
            return [
                """
                CREATE FUNCTION healthcloud_sync_notify() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('healthcloud_sync', '');
                    RETURN NULL;
                END
                $$
                """,
                "CREATE TRIGGER sync_state_notify AFTER UPDATE OF last_version ON sync_state FOR EACH ROW EXECUTE FUNCTION healthcloud_sync_notify()",
            ]
        },
        Migration(version: 9, name: "offline scans keyed by scan") { _ in
            [
                // One row per scan a kiosk uploads (kiosk, pass, scan time): a resent upload is
                // answered from it, a second scan of a copied pass is judged on its own.
                """
                CREATE TABLE offline_scans (
                    kiosk_account BIGINT NOT NULL,
                    pass_id TEXT NOT NULL,
                    scanned_at BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    code TEXT,
                    queue_number BIGINT,
                    received_at BIGINT NOT NULL,
                    PRIMARY KEY (kiosk_account, pass_id, scanned_at)
                )
                """,
                """
                INSERT INTO offline_scans (kiosk_account, pass_id, scanned_at, status, code, queue_number, received_at)
                SELECT kiosk_account, pass_id, scanned_at, status, code, queue_number, received_at FROM offline_checkins
                """,
                "DROP TABLE offline_checkins",
            ]
        },
        Migration(version: 10, name: "sync history epoch") { dialect in
            // A random id of the change log's history, carried in every cursor: a new database
            // gets its own, and `healthcloud sync new-epoch` (after a restore) draws another, so
            // versions counted in another history are answered with a reset (SPEC.md §2).
            let random = dialect == .postgresql ? "substr(md5(random()::text || clock_timestamp()::text), 1, 16)" : "lower(hex(randomblob(8)))"
            return [
                "ALTER TABLE sync_state ADD COLUMN epoch TEXT NOT NULL DEFAULT ''",
                "UPDATE sync_state SET epoch = \(random) WHERE id = 1",
            ]
        },
    ]
}
