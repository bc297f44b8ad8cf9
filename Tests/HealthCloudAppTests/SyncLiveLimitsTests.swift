import Foundation
import HTTPTypes
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import HealthCloudTestSupport
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWSTesting
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import Testing

@testable import HealthCloudApp

/// The live socket re-checks its session on every poke and closes with a clear code when the
/// session ends or its roles change; sockets and long polls are capped per session and account
/// (429 with Retry-After); a commit costs the same queries whatever the number of sockets.
@Suite struct SyncLiveLimitsTests {
    final class Tally: Sendable { let value = Atomic<Int>(0) }

    static func change(_ location: DatabaseLocation, id: String, path: String) async throws {
        _ = try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
            try await database.write { db in
                try await db.sync.put(
                    collection: "warnings",
                    id: id,
                    audience: SyncAudience(role: "leader", path: path),
                    data: .object(["n": .integer(1)]),
                    now: 1
                )
            }
        }
    }

    /// Connects with `token`, then runs `act` after the hello; returns the messages after the hello and the close frame.
    static func socket(
        _ client: any TestClientProtocol,
        token: String,
        act: @escaping @Sendable () async throws -> Void
    ) async throws -> ([String], WebSocketCloseFrame?) {
        let messages = Mutex<[String]>([])
        var configuration = WebSocketClientConfiguration()
        configuration.additionalHeaders = [.authorization: "Bearer \(token)"]
        let close = try await client.ws("/api/v1/sync/live", configuration: configuration) { inbound, _, _ in
            var iterator = inbound.messages(maxSize: 4_096).makeAsyncIterator()
            guard case .text? = try await iterator.next() else {
                Issue.record("no hello")
                return
            }
            try await act()
            while let message = try await iterator.next() {
                if case .text(let text) = message { messages.withLock { $0.append(text) } }
            }
        }
        return (messages.withLock { $0 }, close)
    }

    @Test(arguments: TestEngine.available)
    func aSocketClosesWhenItsSessionEndsOrItsRolesChange(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, mode: .live, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            // Sign-out: the next change the device may read closes the socket (4401), no poke.
            let huangpu = try await client.signIn(try accounts.staff("leader.huangpu")).access
            let (afterLogout, closed) = try await Self.socket(client, token: huangpu) {
                let logout = try await client.send(.post, "/api/v1/auth/logout", token: huangpu)
                #expect(logout.status.code < 300)
                try await Self.change(location, id: "after-logout", path: "city/310101")
            }
            #expect(!afterLogout.contains { $0.contains("poke") }, "\(afterLogout)")
            #expect(closed?.closeCode == .unknown(4401), "\(String(describing: closed))")

            // A role removed by an admin: closed with 4403 (reconnect; the next pull resets).
            let admin = try await client.signIn(try accounts.staff("admin")).access
            let pudong = try await client.signIn(try accounts.staff("leader.pudong")).access
            let (afterRemoval, removed) = try await Self.socket(client, token: pudong) {
                let me = try await client.get("/api/v1/me", token: pudong)
                let id = try #require(try me.json()["id"] as? Int ?? (try me.json()["accountId"] as? Int))
                let revoke = try await client.send(.delete, "/api/v1/admin/accounts/\(id)/roles?role=leader&scope=district:310115", token: admin)
                #expect(revoke.status.code < 300, "\(String(buffer: revoke.body))")
                try await Self.change(location, id: "after-removal", path: "city/310115")
            }
            #expect(!afterRemoval.contains { $0.contains("poke") }, "\(afterRemoval)")
            #expect(removed?.closeCode == .unknown(4403), "\(String(describing: removed))")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(arguments: TestEngine.available)
    func socketsAndLongPollsAreCappedWith429AndRetryAfter(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let configure: @Sendable (inout AppConfiguration) -> Void = {
            $0.syncLive.socketsPerSession = 1
            $0.syncLive.longPollsPerSession = 1
        }
        try await withTestApp(
            engine,
            demo: true,
            mode: .live,
            dataDirectory: directory,
            configure: configure
        ) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let token = try await client.signIn(try accounts.staff("leader.huangpu")).access
            let upgrade: HTTPFields = [
                .authorization: "Bearer \(token)", .connection: "Upgrade", .upgrade: "websocket",
                .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==", .secWebSocketVersion: "13",
            ]
            let (_, _) = try await Self.socket(client, token: token) {
                // A second socket of the same session: 429 with Retry-After, before any upgrade.
                // On a connection of its own: an upgrade is only read as a connection's first request.
                let fresh = TestClient(host: "localhost", port: try #require(client.port))
                fresh.connect()
                let second = try await fresh.execute(.init("/api/v1/sync/live", method: .get, headers: upgrade))
                try? await fresh.shutdown()
                #expect(second.status == .tooManyRequests, "\(second.status)")
                #expect(second.headers[.retryAfter] == "30")
                let code =
                    (try? JSONSerialization.jsonObject(with: Data((second.body ?? ByteBuffer()).readableBytesView)) as? [String: Any])
                    .flatMap { $0["error"] as? [String: Any] }?["code"] as? String
                #expect(code == "too_many_sockets")
                try await Self.change(location, id: "wake", path: "city/310101")
                try await Task.sleep(for: .milliseconds(600))
                _ = try await client.send(.post, "/api/v1/auth/logout", token: token)
                try await Self.change(location, id: "end", path: "city/310101")
            }

            // Long polls: a second one of the same session while the first waits.
            let other = try await client.signIn(try accounts.staff("leader.pudong")).access
            let first = try await SyncTests.pullAll(client, token: other, clientId: "poll-device-1")
            let cursor = first.cursor
            @Sendable func poll(_ wait: Int) async throws -> TestResponse {
                try await client.send(
                    .post,
                    "/api/v1/sync/pull",
                    token: other,
                    json: ["protocolVersion": 1, "schemaVersion": 1, "clientId": "poll-device-1", "cursor": cursor, "waitSeconds": wait]
                )
            }
            async let waiting = poll(2)
            try await Task.sleep(for: .milliseconds(400))
            // On a connection of its own (the test client's one connection is busy with the first).
            let fresh = TestClient(host: "localhost", port: try #require(client.port))
            fresh.connect()
            let refused = try await fresh.execute(
                .init(
                    "/api/v1/sync/pull",
                    method: .post,
                    headers: [.authorization: "Bearer \(other)", .contentType: "application/json"],
                    body: jsonBody(["protocolVersion": 1, "schemaVersion": 1, "clientId": "poll-device-1", "cursor": cursor, "waitSeconds": 2])
                )
            )
            try? await fresh.shutdown()
            #expect(refused.status == .tooManyRequests && refused.headers[.retryAfter] == "30", "\(refused.status)")
            let code =
                (try? JSONSerialization.jsonObject(with: Data((refused.body ?? ByteBuffer()).readableBytesView)) as? [String: Any])
                .flatMap { $0["error"] as? [String: Any] }?["code"] as? String
            #expect(code == "too_many_long_polls")
            let waited = try await waiting
            #expect(waited.status == .ok)
            // The slot is free again.
            let again = try await poll(0)
            #expect(again.status == .ok)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// One commit: the same database reads with 1 socket open as with 50 (the watcher reads the
    /// changed audiences once; each socket decides from its grants).
    @Test(arguments: TestEngine.available)
    func aCommitCostsTheSameQueriesWithOneSocketAsWithFifty(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let counters = SyncLiveCounters()
        let location = try await TestDatabase.freshLocation(engine)
        var configuration = AppConfiguration(hostname: "127.0.0.1", port: 0, database: location, demo: true, logLevel: .warning)
        configuration.dataDirectory = directory
        configuration.identity.passwordIterations = 1_000
        configuration.syncLive.socketsPerSession = 100
        configuration.syncLive.socketsPerAccount = 100
        let app = try buildApplication(
            configuration,
            keys: TestDatabase.keys,
            logger: TestDatabase.logger,
            clock: .test,
            hooks: AppHooks(
                prepare: { database in
                    _ = try await DemoPipeline.forTests.run(
                        DemoContext(
                            database: database,
                            reference: try ReferenceData.bundled(),
                            dataDirectory: directory,
                            today: TestClock.now,
                            passwordIterations: 1_000
                        )
                    )
                },
                syncLiveCounters: counters
            )
        )
        let reads = try await app.test(.live) { client in
            let accounts = try DemoAccounts(directory: directory)
            let token = try await client.signIn(try accounts.staff("leader.huangpu")).access
            var reads: [Int: (changes: Int, sessions: Int)] = [:]
            for (round, sockets) in [1, 50].enumerated() {
                let ready = Tally()
                let poked = Tally()
                let configuration = {
                    var configuration = WebSocketClientConfiguration()
                    configuration.additionalHeaders = [.authorization: "Bearer \(token)"]
                    return configuration
                }()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<sockets {
                        group.addTask {
                            _ = try await client.ws("/api/v1/sync/live", configuration: configuration) { inbound, outbound, _ in
                                var iterator = inbound.messages(maxSize: 4_096).makeAsyncIterator()
                                _ = try await iterator.next()
                                ready.value.add(1, ordering: .relaxed)
                                while case .text(let text)? = try await iterator.next() {
                                    if text.contains("poke") {
                                        poked.value.add(1, ordering: .relaxed)
                                        break
                                    }
                                }
                                try await outbound.close(.normalClosure, reason: nil)
                            }
                        }
                    }
                    while ready.value.load(ordering: .relaxed) < sockets { try await Task.sleep(for: .milliseconds(20)) }
                    try await Task.sleep(for: .milliseconds(600))
                    let before = (changes: counters.changeReads.load(ordering: .relaxed), sessions: counters.sessionReads.load(ordering: .relaxed))
                    try await Self.change(location, id: "fan-out-\(round)", path: "city/310101")
                    while poked.value.load(ordering: .relaxed) < sockets { try await Task.sleep(for: .milliseconds(20)) }
                    reads[sockets] = (
                        counters.changeReads.load(ordering: .relaxed) - before.changes,
                        counters.sessionReads.load(ordering: .relaxed) - before.sessions
                    )
                    try await group.waitForAll()
                }
            }
            return reads
        }
        print("live reads per commit (changes, session look-ups): \(reads)")
        // One read of the changed partitions per commit, whatever the number of sockets; the
        // session re-check costs at most one look-up per session (when its memory has expired).
        #expect(reads[1]?.changes == 1 && reads[50]?.changes == 1, "\(reads)")
        #expect((reads[1]?.sessions ?? 99) <= 1 && (reads[50]?.sessions ?? 99) <= 1, "\(reads)")
        try? await TestDatabase.drop(location)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
