extension Migration {
    /// Migration 5, of cockpit.
    static let rollupsAndWarnings = Migration(version: 5, name: "cockpit rollups and warnings") { dialect in
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
    }
}
