import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import HealthCloudTestSupport
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWSTesting
import HummingbirdWebSocket
import Synchronization
import Testing

/// The live socket: a device connected with its bearer token is poked when a change it may read
/// commits, and not for changes outside its partitions; without a token there is no upgrade.
@Suite struct SyncLiveTests {
    @Test(arguments: TestEngine.available)
    func aConnectedLeaderIsPokedForItsChangesOnly(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, mode: .live, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let huangpu = try await client.signIn(try accounts.staff("leader.huangpu")).access
            let messages = Mutex<[String]>([])
            var configuration = WebSocketClientConfiguration()
            configuration.additionalHeaders = [.authorization: "Bearer \(huangpu)"]
            try await client.ws("/api/v1/sync/live", configuration: configuration) { inbound, _, _ in
                var iterator = inbound.messages(maxSize: 4_096).makeAsyncIterator()
                guard case .text(let hello)? = try await iterator.next() else {
                    Issue.record("no hello")
                    return
                }
                messages.withLock { $0.append(hello) }
                // A change in Pudong (not Huangpu's): no poke. Then one in Huangpu: a poke.
                try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                    _ = try await database.write { db in
                        try await db.sync.put(
                            collection: "warnings",
                            id: "pudong-test",
                            audience: SyncAudience(role: "leader", path: "city/310115"),
                            data: .object(["n": .integer(1)]),
                            now: 1
                        )
                    }
                    try await Task.sleep(for: .milliseconds(700))
                    _ = try await database.write { db in
                        try await db.sync.put(
                            collection: "warnings",
                            id: "huangpu-test",
                            audience: SyncAudience(role: "leader", path: "city/310101/3"),
                            data: .object(["n": .integer(2)]),
                            now: 1
                        )
                    }
                }
                guard case .text(let poke)? = try await iterator.next() else {
                    Issue.record("no poke")
                    return
                }
                messages.withLock { $0.append(poke) }
            }
            let received = messages.withLock { $0 }
            #expect(received.count == 2)
            #expect(received.first?.contains(#""type":"hello""#) == true)
            // The poke names the Huangpu change's version (the Pudong one came first, one lower).
            let version = received.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["version"] as? Int
            let hello = received.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["version"] as? Int
            #expect(received.last?.contains(#""type":"poke""#) == true)
            #expect(version != nil && hello != nil && version! == hello! + 2, "\(received)")

            // No token: no upgrade (the router answers 401); a plain GET with a token: 400.
            let anonymous = try await client.execute(uri: "/api/v1/sync/live", method: .get) { $0 }
            #expect(anonymous.status == .unauthorized)
            let plain = try await client.get("/api/v1/sync/live", token: huangpu)
            #expect(try plain.status == .badRequest && (try plain.apiError().code) == "websocket_required")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
