extension Migration {
    /// Migration 9, of journey.
    static let offlineScansByScan = Migration(version: 9, name: "offline scans keyed by scan") { _ in
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
    }
}
