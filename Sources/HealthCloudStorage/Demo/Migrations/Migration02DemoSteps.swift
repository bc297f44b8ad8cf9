extension Migration {
    /// Migration 2, of demo.
    static let demoSteps = Migration(version: 2, name: "demo pipeline bookkeeping") { _ in
        [
            """
            CREATE TABLE demo_steps (
                name TEXT PRIMARY KEY,
                completed_at TEXT NOT NULL,
                detail TEXT NOT NULL
            )
            """
        ]
    }
}
