extension AppDatabase {
    /// PostgreSQL: creates an empty database on the same server (a test's own database,
    /// provisioning). The name must be a plain lower-case identifier.
    public func createDatabase(named name: String) async throws {
        try await database.execute("CREATE DATABASE \(try Self.plainIdentifier(name))")
    }

    /// PostgreSQL: drops a database of the same server, ending its sessions.
    public func dropDatabase(named name: String) async throws {
        try await database.execute("DROP DATABASE IF EXISTS \(try Self.plainIdentifier(name)) WITH (FORCE)")
    }

    private static func plainIdentifier(_ name: String) throws -> String {
        guard (1...63).contains(name.utf8.count), let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
            name.utf8.allSatisfy({
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: "_")
            })
        else { throw DatabaseError.invalidURL("not a plain database name: \(name)") }
        return name
    }
}
