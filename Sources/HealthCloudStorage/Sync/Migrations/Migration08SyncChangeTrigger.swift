extension Migration {
    /// Migration 8, of sync.
    static let syncChangeTrigger = Migration(version: 8, name: "sync change announced by trigger") { dialect in
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
    }
}
