extension Migration {
    /// Migration 4, of reporting.
    static let dailyReporting = Migration(version: 4, name: "daily reporting and quality control") { dialect in
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
    }
}
