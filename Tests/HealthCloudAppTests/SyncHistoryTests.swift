import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import HealthCloudTestSupport
import HummingbirdTesting
import NIOCore
import Testing

/// What a client written from SPEC.md alone relies on about cursors and snapshots, on both
/// engines: a restored database resets the devices it no longer covers (history epoch, cursor
/// beyond the mark), later snapshot pages carry only the tombstones made after the snapshot
/// began, the purge and a newer server's cursors answer with a reset, and a socket upgrade
/// without a valid token is answered with the 401 every route gives.
@Suite struct SyncHistoryTests {
    static let leaderRecords = SyncAudience(role: "leader", path: "city")

    /// One page, verified.
    static func pull(
        _ client: any TestClientProtocol,
        token: String,
        clientId: String,
        cursor: String?,
        limit: Int = 500
    ) async throws -> PullResponse {
        let response = try await client.execute(
            uri: "/api/v1/sync/pull",
            method: .post,
            headers: [.authorization: "Bearer \(token)"],
            body: ByteBuffer(bytes: try JSONEncoder().encode(PullRequest(clientId: clientId, cursor: cursor, limit: limit)))
        ) { $0 }
        try #require(response.status == .ok, "\(String(buffer: response.body))")
        let page = try JSONDecoder().decode(PullResponse.self, from: Data(response.body.readableBytesView))
        #expect(PageDigest.verify(page, publicKey: TestDatabase.keys.signingKey.publicKey))
        return page
    }

    /// Writes city-wide leader records behind the server's back (as a feature's transaction would).
    static func put(_ ids: [String], on location: DatabaseLocation) async throws {
        _ = try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
            try await database.write { db in
                try await db.sync.put(
                    ids.map { SyncLog.Put(collection: "warnings", id: $0, audience: leaderRecords, data: .object(["title": .string($0)])) },
                    now: 1
                )
            }
        }
    }

    static func remove(_ records: [(collection: String, id: String)], on location: DatabaseLocation) async throws {
        try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
            try await database.write { db in
                for record in records { try await db.sync.remove(collection: record.collection, id: record.id, now: 1) }
            }
        }
    }

    static func state(_ location: DatabaseLocation) async throws -> (lastVersion: Int64, purgedThrough: Int64, epoch: String) {
        try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in try await database.sync.state() }
    }

    // MARK: History epoch

    @Test(arguments: TestEngine.available)
    func aRestoredDatabaseResetsTheDevicesItsHistoryNoLongerCovers(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            let device = "device-restored-1"
            let first = try await SyncTests.pullAll(client, token: city, clientId: device, limit: 1000)
            let epoch = try await Self.state(location).epoch
            #expect(epoch.count == 16 && epoch.allSatisfy(\.isHexDigit), "a migrated database has its own epoch: \(epoch)")
            #expect(try #require(SyncCursor(token: first.cursor)).e == epoch)

            // The backup is taken here; the device then receives three more records.
            let backup = try await Self.state(location).lastVersion
            try await Self.put(["after-backup-1", "after-backup-2", "after-backup-3"], on: location)
            let synced = try await SyncTests.pullAll(client, token: city, clientId: device, cursor: first.cursor, records: first.records)
            #expect(!synced.reset && synced.records["warnings"]?["after-backup-3"] != nil)
            let held = try #require(SyncCursor(token: synced.cursor))

            // Restored from the backup: what came after it, and its versions, are gone.
            try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                // As a restore would leave it (a DBA's statements, not the product's).
                try await rawExecute(
                    "DELETE FROM sync_records WHERE version > \(backup); UPDATE sync_state SET last_version = \(backup) WHERE id = 1",
                    on: database
                )
            }
            // Pulled before the counter catches up: the cursor is beyond the mark, a reset.
            let early = try await Self.pull(client, token: city, clientId: device, cursor: synced.cursor)
            #expect(early.reset, "a cursor beyond the high-water mark is reset, not echoed")

            // Writes past the device's cursor, then the operator's step after a restore: a reset
            // that drops what the restore lost and brings what was written since.
            try await Self.put((1...6).map { "after-restore-\($0)" }, on: location)
            #expect(try await Self.state(location).lastVersion > held.n)
            let renewed = try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                try await database.sync.newEpoch()
            }
            #expect(renewed != epoch)
            let after = try await SyncTests.pullAll(client, token: city, clientId: device, cursor: synced.cursor, records: synced.records)
            #expect(after.reset, "a cursor of another epoch is answered with a reset")
            #expect(after.records["warnings"]?["after-backup-1"] == nil, "what the restore lost leaves the device")
            #expect((1...6).allSatisfy { after.records["warnings"]?["after-restore-\($0)"] != nil }, "nothing written since is skipped")
            #expect(try #require(SyncCursor(token: after.cursor)).e == renewed)
            let again = try await Self.pull(client, token: city, clientId: device, cursor: after.cursor)
            #expect(!again.reset && again.changes.isEmpty)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(arguments: TestEngine.available)
    func aCursorFromBeforeEpochsIsResetOnce(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, dataDirectory: directory) { client, _ in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            let device = "device-old-cursor"
            let current = try await SyncTests.pullAll(client, token: city, clientId: device, limit: 1000)
            var old = try #require(SyncCursor(token: current.cursor))
            old.e = nil
            let upgraded = try await SyncTests.pullAll(client, token: city, clientId: device, cursor: old.token, limit: 1000)
            #expect(upgraded.reset, "a cursor without an epoch: one reset")
            let next = try await Self.pull(client, token: city, clientId: device, cursor: upgraded.cursor)
            #expect(!next.reset, "and then deltas again")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Snapshot pages

    @Test(arguments: TestEngine.available)
    func laterSnapshotPagesLeaveOutTombstonesFromBeforeTheSnapshot(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            try await Self.put(["snap-1", "snap-2", "snap-3", "snap-4"], on: location)
            try await Self.remove([("warnings", "snap-3"), ("warnings", "snap-4")], on: location)

            var cursor: String?
            var changes: [Change] = []
            var marks: [Int64?] = []
            var pages = 0
            repeat {
                let page = try await Self.pull(client, token: city, clientId: "device-snapshot-1", cursor: cursor, limit: 1)
                #expect(page.reset == (pages == 0), "the reset flag is on the first page only")
                changes += page.changes
                cursor = page.cursor
                marks.append(try #require(SyncCursor(token: page.cursor)).m)
                pages += 1
                if !page.hasMore { break }
            } while pages < 200
            #expect(pages > 2)
            let deleted = changes.filter { $0.op == .delete }.map(\.id)
            #expect(deleted.isEmpty, "tombstones made before the snapshot began: \(deleted)")
            #expect(Set(changes.map(\.id)).isSuperset(of: ["snap-1", "snap-2"]))
            // The mark rides along while the snapshot is delivered, and is gone once it is passed.
            #expect(marks.first! != nil && marks.dropLast().allSatisfy { $0 == marks.first! } && marks.last! == nil, "\(marks)")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(arguments: TestEngine.available)
    func laterSnapshotPagesKeepTombstonesMadeAfterItBegan(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            try await Self.put(["kept-1", "kept-2", "kept-3"], on: location)
            let device = "device-snapshot-2"
            let first = try await Self.pull(client, token: city, clientId: device, cursor: nil, limit: 1)
            #expect(first.reset && first.hasMore)
            let delivered = try #require(first.changes.first)
            // One of ours (a cockpit home would be published again by the next pull).
            try #require(delivered.collection == "warnings" && delivered.id.hasPrefix("kept-"), "\(delivered)")
            // Deleted between the pages: the record delivered on page 1, and one not delivered yet.
            try await Self.remove([(delivered.collection, delivered.id), ("warnings", "kept-3")], on: location)
            let rest = try await SyncTests.pullAll(
                client,
                token: city,
                clientId: device,
                cursor: first.cursor,
                limit: 1,
                records: [delivered.collection: [delivered.id: delivered.data]]
            )
            #expect(!rest.reset)
            #expect(rest.records[delivered.collection]?[delivered.id] == nil, "the record of page 1 deleted before page 2 leaves the device")
            #expect(rest.records["warnings"]?["kept-3"] == nil && rest.records["warnings"]?["kept-2"] != nil)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Purge and cursors of a newer server

    @Test(arguments: TestEngine.available)
    func thePurgeAndCursorsOfANewerServerAreAnsweredWithAReset(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            let device = "device-purge-1"
            let synced = try await SyncTests.pullAll(client, token: city, clientId: device, limit: 1000)
            let cursor = try #require(SyncCursor(token: synced.cursor))

            // A newer schema's cursor (a server rolled back): a reset; a member this server does
            // not know: ignored; another cursor format (`v`): a reset.
            var newer = cursor
            newer.s = SyncVersion.schemaVersion + 1
            #expect(try await Self.pull(client, token: city, clientId: device, cursor: newer.token).reset)
            var members = try #require(try JSONSerialization.jsonObject(with: Data(Base64URL.decode(synced.cursor)!)) as? [String: Any])
            members["x"] = "a member of a later format"
            let extra = Base64URL.encode(Array(try JSONSerialization.data(withJSONObject: members, options: [.sortedKeys])))
            #expect(try await Self.pull(client, token: city, clientId: device, cursor: extra).reset == false)
            members["v"] = 2
            let otherFormat = Base64URL.encode(Array(try JSONSerialization.data(withJSONObject: members, options: [.sortedKeys])))
            #expect(try await Self.pull(client, token: city, clientId: device, cursor: otherFormat).reset)
            // Another client's cursor: its grants differ (each device has its own partition).
            #expect(try await Self.pull(client, token: city, clientId: "device-purge-2", cursor: synced.cursor).reset)

            // A tombstone past the horizon is purged (the hourly job): a cursor below it resets,
            // one at it does not.
            try await Self.put(["purged-1"], on: location)
            try await Self.remove([("warnings", "purged-1")], on: location)
            let purged = try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                try await database.sync.purgeTombstones(before: 10)
            }
            #expect(purged == 1)
            let state = try await Self.state(location)
            #expect(state.purgedThrough > cursor.n)
            let reset = try await Self.pull(client, token: city, clientId: device, cursor: synced.cursor)
            #expect(reset.reset, "a cursor below purgedThrough")
            let atHorizon = SyncCursor(version: state.purgedThrough, grants: cursor.g, epoch: cursor.e).token
            #expect(try await Self.pull(client, token: city, clientId: device, cursor: atHorizon).reset == false, "a cursor at purgedThrough")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Live socket upgrade

    @Test(arguments: TestEngine.available)
    func aSocketUpgradeWithoutAValidTokenIsAnsweredWithTheRoutes401(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, mode: .live, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let port = try #require(client.port)
            /// The upgrade request a socket client sends, on a connection of its own.
            func upgrade(_ token: String?) async throws -> (status: Int, code: String?) {
                try await TestClient.withClient(host: "127.0.0.1", port: port) { raw in
                    var headers: HTTPFields = [
                        .connection: "Upgrade", .upgrade: "websocket", .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
                        .secWebSocketVersion: "13",
                    ]
                    if let token { headers[.authorization] = "Bearer \(token)" }
                    let response = try await raw.get(SyncLiveTestPath.path, headers: headers)
                    let body = response.body.flatMap { try? JSONSerialization.jsonObject(with: Data($0.readableBytesView)) as? [String: Any] }
                    return (response.status.code, (body?["error"] as? [String: Any])?["code"] as? String)
                }
            }
            /// What a route answers the same token.
            func route(_ token: String?) async throws -> String? {
                let response = try await client.get("/api/v1/sync/live", token: token)
                #expect(response.status == .unauthorized)
                return try response.apiError().code
            }

            let none = try await upgrade(nil)
            #expect(none.status == 401 && none.code == "unauthenticated", "\(none)")
            let garbage = try await upgrade("not-a-token")
            #expect(garbage.status == 401 && garbage.code == "token_invalid", "\(garbage)")

            let leader = try accounts.staff("leader.huangpu")
            let signedOut = try await client.signIn(leader).access
            #expect(try await client.send(.post, "/api/v1/auth/logout", token: signedOut).status == .noContent)
            let closed = try await upgrade(signedOut)
            let routeCode = try await route(signedOut)
            #expect(closed.status == 401 && closed.code == routeCode, "a closed session's token answers as on every route: \(closed)")

            // Another account (the same one's authenticator code is used up for this window).
            let live = try await client.signIn(try accounts.staff("leader.pudong")).access
            try await rawExecute("UPDATE auth_tokens SET expires_at = 1 WHERE kind = 'access'", on: location)
            let expired = try await upgrade(live)
            #expect(expired.status == 401 && expired.code == "token_expired", "the socket client can tell a refresh from a sign-in: \(expired)")
            #expect(try await route(live) == "token_expired")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

private enum SyncLiveTestPath {
    static let path = "/api/v1/sync/live"
}
