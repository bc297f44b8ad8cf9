import Foundation
import HealthCloudTestSupport
import Testing

@testable import HealthCloudStorage

/// The engine layer behaves the same on SQLite and PostgreSQL.
@Suite struct EngineTests {
    @Test(arguments: TestEngine.available)
    func valuesRoundTripWithTheSameKinds(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let db = app.database
            try await db.write { tx in
                try await tx.execute(
                    """
                    CREATE TABLE samples (id BIGINT PRIMARY KEY, n BIGINT, x DOUBLE PRECISION, t TEXT, b \(tx.dialect.blob))
                    """
                )
                try await tx.execute(
                    "INSERT INTO samples (id, n, x, t, b) VALUES ($1, $2, $3, $4, $5)",
                    [1, .integer(Int64.max), 2.5, "浦东新区 — Pudong", .blob([0, 1, 254, 255])]
                )
                try await tx.execute("INSERT INTO samples (id, n, x, t, b) VALUES ($1, $2, $3, $4, $5)", [2, .null, .null, .null, .null])
            }
            let rows = try await db.query("SELECT id, n, x, t, b FROM samples ORDER BY id", [])
            #expect(rows.count == 2)
            #expect(rows[0]["n"] == .integer(Int64.max))
            #expect(rows[0]["x"] == .real(2.5))
            #expect(rows[0]["t"] == .text("浦东新区 — Pudong"))
            #expect(rows[0]["b"] == .blob([0, 1, 254, 255]))
            #expect(rows[1].values.dropFirst().allSatisfy { $0 == .null })
            #expect(try rows[1].optionalInt("n") == nil)
        }
    }

    @Test(arguments: TestEngine.available)
    func placeholdersMayRepeatAndComeOutOfOrder(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let row = try #require(
                try await app.database.first(
                    "SELECT CAST($2 AS BIGINT) + CAST($1 AS BIGINT) AS a, CAST($2 AS BIGINT) * CAST($2 AS BIGINT) AS b",
                    [3, 5]
                )
            )
            #expect(try row.int("a") == 8)
            #expect(try row.int("b") == 25)
        }
    }

    @Test(arguments: TestEngine.available)
    func aggregatesDecodeAsIntegers(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            try await app.database.write { tx in
                try await tx.execute("CREATE TABLE nums (v BIGINT NOT NULL)")
                for v in [1, 2, 3, 4] { try await tx.execute("INSERT INTO nums (v) VALUES ($1)", [.integer(Int64(v))]) }
            }
            // SUM(bigint) is NUMERIC on PostgreSQL; it must still read as an integer.
            let row = try #require(try await app.database.first("SELECT SUM(v) AS s, COUNT(*) AS c, AVG(v) AS a FROM nums"))
            #expect(try row.int("s") == 10)
            #expect(try row.int("c") == 4)
            #expect(try row.double("a") == 2.5)
        }
    }

    @Test(arguments: TestEngine.available)
    func constraintViolationsAreTyped(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let db = app.database
            try await db.write { tx in
                try await tx.execute("CREATE TABLE things (id BIGINT PRIMARY KEY, qty BIGINT NOT NULL CHECK (qty >= 0))")
                try await tx.execute("INSERT INTO things (id, qty) VALUES (1, 1)")
            }
            await #expect {
                try await db.write { tx in try await tx.execute("INSERT INTO things (id, qty) VALUES (1, 2)") }
            } throws: { error in
                if case .uniqueViolation = error as? DatabaseError { return true }
                return false
            }
            await #expect {
                try await db.write { tx in try await tx.execute("INSERT INTO things (id, qty) VALUES (2, -1)") }
            } throws: { error in
                if case .constraintViolation = error as? DatabaseError { return true }
                return false
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func aFailedTransactionLeavesNothingBehind(engine: TestEngine) async throws {
        struct Boom: Error {}
        try await TestDatabase.with(engine) { app in
            let db = app.database
            try await db.write { tx in try await tx.execute("CREATE TABLE ledger (id BIGINT PRIMARY KEY)") }
            await #expect(throws: Boom.self) {
                try await db.write { tx in
                    try await tx.execute("INSERT INTO ledger (id) VALUES (1)")
                    try await tx.execute("INSERT INTO ledger (id) VALUES (2)")
                    throw Boom()
                }
            }
            #expect(try await db.scalarInt("SELECT COUNT(*) FROM ledger") == 0)
            try await db.write { tx in try await tx.execute("INSERT INTO ledger (id) VALUES (3)") }
            #expect(try await db.scalarInt("SELECT COUNT(*) FROM ledger") == 1)
        }
    }

    @Test(arguments: TestEngine.available)
    func concurrentWritersAllCommit(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let db = app.database
            try await db.write { tx in try await tx.execute("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)") }
            try await db.write { tx in try await tx.execute("INSERT INTO counter (id, n) VALUES (1, 0)") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        try await db.write { tx in try await tx.execute("UPDATE counter SET n = n + 1 WHERE id = 1") }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await db.scalarInt("SELECT n FROM counter WHERE id = 1") == 100)
        }
    }

    @Test(arguments: TestEngine.available)
    func migrationsApplyOnceAndInOrder(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, migrate: false) { app in
            let first = try await app.migrate()
            #expect(first == Schema.migrations.map(\.version))
            let second = try await app.migrate()
            #expect(second.isEmpty)
            #expect(try await app.migrator.appliedVersions(app.database) == Schema.migrations.map(\.version))
        }
    }

    @Test func databaseLocationsParse() throws {
        #expect(try DatabaseLocation("data/x.sqlite") == .sqlite(path: "data/x.sqlite"))
        #expect(try DatabaseLocation("sqlite:///tmp/x.db") == .sqlite(path: "/tmp/x.db"))
        let pg = try DatabaseLocation("postgres://hc:s%40cret@db.example:6543/healthcloud")
        #expect(pg == .postgres(host: "db.example", port: 6543, user: "hc", password: "s@cret", database: "healthcloud"))
        #expect(!pg.description.contains("cret"), "the password never appears in descriptions")
        #expect(throws: DatabaseError.self) { try DatabaseLocation("postgres://:5432/x") }
        #expect(throws: DatabaseError.self) { try DatabaseLocation("") }
    }
}
