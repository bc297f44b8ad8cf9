extension Migration {
    /// Migration 1, of organisations.
    static let organisationHierarchy = Migration(version: 1, name: "organisation hierarchy") { dialect in
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
    }
}
