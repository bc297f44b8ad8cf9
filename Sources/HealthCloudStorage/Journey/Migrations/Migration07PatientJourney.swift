extension Migration {
    /// Migration 7, of journey.
    static let patientJourney = Migration(version: 7, name: "patient journey") { dialect in
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
    }
}
