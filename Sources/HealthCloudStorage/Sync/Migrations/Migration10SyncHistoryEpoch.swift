extension Migration {
    /// Migration 10, of sync.
    static let syncHistoryEpoch = Migration(version: 10, name: "sync history epoch") { dialect in
        // A random id of the change log's history, carried in every cursor: a new database
        // gets its own, and `healthcloud sync new-epoch` (after a restore) draws another, so
        // versions counted in another history are answered with a reset (SPEC.md §2).
        let random = dialect == .postgresql ? "substr(md5(random()::text || clock_timestamp()::text), 1, 16)" : "lower(hex(randomblob(8)))"
        return [
            "ALTER TABLE sync_state ADD COLUMN epoch TEXT NOT NULL DEFAULT ''",
            "UPDATE sync_state SET epoch = \(random) WHERE id = 1",
        ]
    }
}
