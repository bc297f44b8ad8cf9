import Foundation
import HealthCloudDomain
import HealthCloudTestSupport
import Testing

@testable import HealthCloudStorage

/// The change log under the sync protocol, on both engines: versions in commit order,
/// visibility by role and path, tombstones, snapshots and the purge horizon.
@Suite struct SyncLogTests {
    static func put(_ app: AppDatabase, _ id: String, role: String = "leader", path: String, _ value: Int64, now: Int64 = 100) async throws -> Int64 {
        try await app.write { db in
            try await db.sync.put(
                collection: "things",
                id: id,
                audience: SyncAudience(role: role, path: path),
                data: .object(["n": .integer(value)]),
                now: now
            )
        }
    }

    @Test(arguments: TestEngine.available)
    func pagesFollowVersionsGrantsAndTombstones(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let v1 = try await Self.put(app, "a", path: "city/310115", 1)
            let v2 = try await Self.put(app, "b", path: "city/310115/12", 2)
            let v3 = try await Self.put(app, "c", path: "city/310101", 3)
            let v4 = try await Self.put(app, "d", role: "reporter", path: "city/310115/12", 4)
            #expect([v1, v2, v3, v4] == [1, 2, 3, 4])
            let pudong = [SyncAudience(role: "leader", path: "city/310115")]
            var page = try await app.sync.page(grants: pudong, after: 0, snapshot: true, limit: 10, maxBytes: 1 << 20)
            #expect(page.records.map(\.id) == ["a", "b"] && page.cursor == 4 && !page.hasMore)
            // "city/3101" is not a prefix of "city/310115" in path terms.
            let near = try await app.sync.page(
                grants: [SyncAudience(role: "leader", path: "city/3101")],
                after: 0,
                snapshot: true,
                limit: 10,
                maxBytes: 1 << 20
            )
            #expect(near.records.isEmpty)
            let city = try await app.sync.page(
                grants: [SyncAudience(role: "leader", path: "city")],
                after: 0,
                snapshot: true,
                limit: 2,
                maxBytes: 1 << 20
            )
            #expect(city.records.map(\.id) == ["a", "b"] && city.cursor == 2 && city.hasMore)

            // An update moves the record to a new version; a removal leaves a tombstone.
            _ = try await Self.put(app, "a", path: "city/310115", 10)
            try await app.write { db in try await db.sync.remove(collection: "things", id: "b", now: 200) }
            try await app.write { db in try await db.sync.remove(collection: "things", id: "never-synced", now: 200) }
            page = try await app.sync.page(grants: pudong, after: 4, snapshot: false, limit: 10, maxBytes: 1 << 20)
            #expect(page.records.map(\.id) == ["a", "b"] && page.records.map(\.deleted) == [false, true] && page.records[1].data == nil)
            #expect(page.records.map(\.version) == [5, 6] && page.cursor == 6)
            let snapshot = try await app.sync.page(grants: pudong, after: 0, snapshot: true, limit: 10, maxBytes: 1 << 20)
            #expect(snapshot.records.map(\.id) == ["a"], "a snapshot carries no tombstones")

            // Byte budget: at least one record per page, then stop before the budget.
            let small = try await app.sync.page(
                grants: [SyncAudience(role: "leader", path: "city")],
                after: 0,
                snapshot: true,
                limit: 10,
                maxBytes: 1
            )
            #expect(small.records.count == 1 && small.hasMore)

            // Purging old tombstones raises the horizon that forces a reset.
            #expect(try await app.sync.purgeTombstones(before: 150) == 0)
            #expect(try await app.sync.purgeTombstones(before: 300) == 1)
            let state = try await app.sync.state()
            #expect(state.purgedThrough == 6 && state.lastVersion == 6)
        }
    }

    @Test(arguments: TestEngine.available)
    func mutationResultsAreRecordedOncePerClientAndId(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            try await app.write { db in
                try await db.sync.recordMutation(
                    clientId: "dev-1",
                    accountId: 7,
                    id: 3,
                    name: "x",
                    bodyDigest: "d3",
                    status: "applied",
                    code: nil,
                    message: nil,
                    now: 1
                )
                try await db.sync.recordMutation(
                    clientId: "dev-1",
                    accountId: 7,
                    id: 2,
                    name: "x",
                    bodyDigest: "d2",
                    status: "rejected",
                    code: "bad",
                    message: "m",
                    now: 1
                )
            }
            #expect(try await app.sync.lastMutationId(clientId: "dev-1", accountId: 7) == 3, "the highest id, whatever the order")
            #expect(try await app.sync.lastMutationId(clientId: "dev-1", accountId: 8) == 0, "per account")
            let stored = try await app.sync.storedResults(clientId: "dev-1", accountId: 7, ids: [2, 3, 4])
            #expect(stored[2]?.code == "bad" && stored[3]?.status == "applied" && stored[4] == nil)
            await #expect(throws: DatabaseError.self) {
                try await app.write { db in
                    try await db.sync.recordMutation(
                        clientId: "dev-1",
                        accountId: 7,
                        id: 3,
                        name: "x",
                        bodyDigest: "d3",
                        status: "applied",
                        code: nil,
                        message: nil,
                        now: 2
                    )
                }
            }
        }
    }

    /// Several records of one transaction: one move of the counter, versions in the order given,
    /// a record named twice keeps its last state, updates and inserts alike.
    @Test(arguments: TestEngine.available)
    func severalRecordsOfOneTransactionTakeConsecutiveVersions(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            _ = try await Self.put(app, "a", path: "city/310115", 1)
            let patient = SyncAudience(role: "patient", path: "patient/7")
            try await app.write { db in
                try await db.sync.put(
                    [
                        SyncLog.Put(collection: "things", id: "b", audience: patient, data: .object(["n": .integer(2)])),
                        SyncLog.Put(collection: "things", id: "a", audience: patient, data: .object(["n": .integer(3)])),
                        SyncLog.Put(collection: "others", id: "b", audience: patient, data: .object(["n": .string("4.5")])),
                        SyncLog.Put(collection: "things", id: "b", audience: patient, data: .object(["n": .integer(5)])),
                    ],
                    now: 300
                )
            }
            #expect(try await app.sync.state().lastVersion == 4, "one version per distinct record")
            let page = try await app.sync.page(grants: [patient], after: 0, snapshot: false, limit: 10, maxBytes: 1 << 20)
            #expect(page.records.map { "\($0.collection)/\($0.id)@\($0.version)" } == ["things/a@2", "others/b@3", "things/b@4"])
            #expect(page.records.map(\.data) == [#"{"n":3}"#, #"{"n":"4.5"}"#, #"{"n":5}"#])
            // The record moved to the patient's path with its new version.
            #expect(
                try await app.sync.page(grants: [SyncAudience(role: "leader", path: "city")], after: 0, snapshot: false, limit: 10, maxBytes: 1 << 20)
                    .records.isEmpty
            )
        }
    }
}
