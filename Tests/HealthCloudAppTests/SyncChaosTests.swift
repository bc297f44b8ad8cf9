import Foundation
import HealthCloudApp
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import HealthCloudTestSupport
import HummingbirdTesting
import Synchronization
import Testing

@testable import HealthCloudSyncClient

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An unreliable network between devices and server, at the HTTP layer: requests dropped before
/// the server, responses lost after the server acted, requests delivered twice, stale
/// responses replayed in place of fresh ones (to the same device), and random delays that
/// reorder the devices' traffic. Seeded, so a failure can be replayed.
final class ChaosNetwork: SyncTransport {
    struct Settings: Sendable {
        var dropRequest = 0.15
        var dropResponse = 0.15
        var duplicate = 0.15
        var stale = 0.15
        var maxDelayMilliseconds = 40
    }

    struct State {
        var random: UInt64 = 0x5EED
        var enabled = true
        var lastResponse: [String: (Data, URLResponse)] = [:]
        var counts: [String: Int] = [:]
        /// Each fault once, in turn, before the dice decide: how many sync requests a run makes
        /// depends on timing, so a fault left to chance alone may never happen.
        var scripted = ["request dropped", "request duplicated", "response lost", "stale response"]
    }

    let settings: Settings
    let state = Mutex(State())
    let session = URLSession(configuration: .ephemeral)

    init(settings: Settings = Settings()) {
        self.settings = settings
    }

    func roll() -> Double {
        state.withLock { state in
            state.random = state.random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state.random >> 11) / Double(1 << 53)
        }
    }

    func count(_ event: String) { state.withLock { $0.counts[event, default: 0] += 1 } }
    var counts: [String: Int] { state.withLock { $0.counts } }
    func disable() { state.withLock { $0.enabled = false } }

    func send(_ request: URLRequest) async throws -> (Data, URLResponse) {
        guard state.withLock({ $0.enabled }), request.url?.path.contains("/api/v1/sync/") == true else { return try await session.data(for: request) }
        // Stale answers go to the same device only (a network does not cross users).
        let device = request.httpBody.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }?["clientId"] as? String
        let key = "\(device ?? "?")\(request.url?.path ?? "")"
        let scripted = state.withLock { state in
            state.scripted.isEmpty || (state.scripted[0] == "stale response" && state.lastResponse[key] == nil) ? nil : state.scripted.removeFirst()
        }
        try await Task.sleep(for: .milliseconds(Int(roll() * Double(settings.maxDelayMilliseconds))))
        if scripted == "request dropped" || roll() < settings.dropRequest {
            count("request dropped")
            throw URLError(.networkConnectionLost)
        }
        var (data, response) = try await session.data(for: request)
        if scripted == "request duplicated" || roll() < settings.duplicate {
            count("request duplicated")
            (data, response) = try await session.data(for: request)
        }
        try await Task.sleep(for: .milliseconds(Int(roll() * Double(settings.maxDelayMilliseconds))))
        if scripted == "response lost" || roll() < settings.dropResponse {
            count("response lost")
            throw URLError(.networkConnectionLost)
        }
        if scripted == "stale response" || roll() < settings.stale, let old = state.withLock({ $0.lastResponse[key] }) {
            count("stale response")
            return old
        }
        state.withLock { $0.lastResponse[key] = (data, response) }
        return (data, response)
    }
}

struct FixedToken: SyncAuthenticator {
    let token: String
    func accessToken() async throws -> String { token }
    func refresh() async throws -> Bool { false }
}

@Suite(.serialized) struct SyncChaosTests {
    static let pipeline = DemoPipeline(steps: [OrganisationsStep(), AccountsStep(), CatalogStep(), ReportHistoryStep(days: 14), OpenWarningsStep()])

    static func device(base: URL, token: String, id: String, transport: any SyncTransport = URLSessionTransport()) throws -> SyncClient {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hc-chaos-\(id)-\(UUID().uuidString.prefix(6)).sqlite").path
        return SyncClient(
            configuration: .init(baseURL: base, clientId: id, pageLimit: 25, pushBatch: 3),
            store: try LocalStore(path: path),
            authenticator: FixedToken(token: token),
            transport: transport
        )
    }

    /// Everything a store holds, per collection.
    static func contents(_ store: LocalStore) async throws -> [String: [String: JSONValue]] {
        var all: [String: [String: JSONValue]] = [:]
        for collection in try await store.collections() {
            let records = try await store.records(collection)
            if !records.isEmpty { all[collection] = records }
        }
        return all
    }

    /// Devices of two leaders and a reporter push acknowledgements and report corrections
    /// through the chaos until every outbox is empty; then each store equals a clean device's,
    /// every mutation has exactly one recorded outcome, and no warning was acknowledged twice.
    @Test(arguments: TestEngine.available)
    func devicesConvergeThroughAnUnreliableNetwork(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, mode: .live, dataDirectory: directory) { client, location in
            let base = URL(string: "http://127.0.0.1:\(try #require(client.port))")!
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            let pudong = try await client.signIn(try accounts.staff("leader.pudong")).access
            let reporterAccount = try accounts.staff("reporter.ruijin")
            let reporter = try await client.signIn(reporterAccount).access
            let campus = Int64(reporterAccount.scope.split(separator: ":")[1])!

            let chaotic = ChaosNetwork()

            let devices: [(name: String, token: String, client: SyncClient)] = [
                ("city-a", city, try Self.device(base: base, token: city, id: "chaos-city-a-\(engine.rawValue)", transport: chaotic)),
                ("city-b", city, try Self.device(base: base, token: city, id: "chaos-city-b-\(engine.rawValue)", transport: chaotic)),
                ("pudong", pudong, try Self.device(base: base, token: pudong, id: "chaos-pudong-\(engine.rawValue)", transport: chaotic)),
                ("reporter", reporter, try Self.device(base: base, token: reporter, id: "chaos-reporter-\(engine.rawValue)", transport: chaotic)),
            ]
            /// Syncs until it gets through (the network fails often); returns the attempts.
            func persist(_ device: SyncClient) async throws -> Int {
                for attempt in 1...60 {
                    do {
                        try await device.sync()
                        if try await device.store.unsent().isEmpty { return attempt }
                    } catch SyncClientError.transport {
                        continue
                    }
                }
                Issue.record("a device never got through")
                return 60
            }
            for device in devices { _ = try await persist(device.client) }

            // Work queued offline on every device, pushed concurrently through the chaos.
            let openIds = (try await devices[0].client.records("warnings")).filter {
                if case .object(let w) = $0.value, w["status"] == .string("open") { true } else { false }
            }.keys.compactMap { Int64($0) }.sorted()
            try #require(openIds.count >= 4)
            var queued = 0
            for (index, device) in devices.enumerated() where device.name != "reporter" {
                for warning in openIds.prefix(4) {
                    try await device.client.mutate(
                        "acknowledgeWarning",
                        args: .object(["warningId": .integer(warning), "note": .string("device \(index)")])
                    )
                    queued += 1
                }
            }
            let today = Day(shanghaiTimeOf: Int64(TestClock.now.timeIntervalSince1970))
            for occupied in [30, 5, 40, 6] {  // broken, fine, broken, fine: findings come and go
                try await devices[3].client.mutate(
                    "submitReport",
                    args: .object([
                        "campusId": .integer(campus), "date": .string(today.description),
                        "correctionReason": occupied == 30 ? .null : .string("recount \(occupied)"),
                        "report": .object([
                            "icu": .object([
                                "bedsTotal": .integer(20), "bedsOccupied": .integer(Int64(occupied)), "convertibleBeds": .integer(0),
                                "ventilatorsTotal": .integer(4), "ventilatorsInUse": .integer(1),
                            ])
                        ]),
                    ])
                )
                queued += 1
            }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for device in devices { group.addTask { try await persist(device.client) } }
                for try await _ in group {}
            }
            // The network heals (a stale page may have been the last thing a device saw): one more
            // sync each, as the next poke would trigger.
            chaotic.disable()
            for device in devices { _ = try await persist(device.client) }
            let events = chaotic.counts
            #expect(events.values.reduce(0, +) >= 6 && events.keys.count >= 3, "the chaos happened: \(events)")

            // Every store equals a clean device's of the same account.
            for device in devices {
                let clean = try Self.device(base: base, token: device.token, id: "clean-\(device.name)-\(engine.rawValue)")
                try await clean.sync()
                var mine = try await Self.contents(device.client.store)
                var theirs = try await Self.contents(clean.store)
                // Conflict records are per device by design.
                mine["syncConflicts"] = nil
                theirs["syncConflicts"] = nil
                #expect(mine == theirs, "\(device.name) converged")
                #expect(try await device.client.store.pending().isEmpty, "\(device.name): outbox empty")
            }
            // The server: every mutation has one outcome; each warning acknowledged once.
            let expectedMutations = queued
            try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                #expect(
                    try await rawScalar("SELECT COUNT(*) FROM sync_mutations WHERE client_id LIKE 'chaos-%'", on: database) == expectedMutations
                )
                for warning in openIds.prefix(4) {
                    let acks = try await database.warnings.events(warningId: Int(warning)).count { $0.kind == "acknowledged" }
                    #expect(acks == 1, "warning \(warning) acknowledged \(acks) times")
                }
                // The report: its four submissions made versions in order, none twice.
                let versions = try await database.reports.versions(campusId: Int(campus), date: today)
                #expect(versions.count == 2, "two accepted versions (the broken ones rejected): \(versions.map(\.version))")
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
