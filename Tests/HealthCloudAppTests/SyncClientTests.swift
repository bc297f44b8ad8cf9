import Foundation
import HealthCloudApp
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudSync
import HealthCloudTestSupport
import HummingbirdTesting
import Testing

@testable import HealthCloudSyncClient

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Swift client library: the conformance vectors' client behaviour on its SQLite store,
/// and whole devices syncing against a live server over loopback (URLSession).
@Suite struct SyncClientTests {
    struct ApplyVectors: Decodable {
        struct Case: Decodable {
            var name: String
            var store: [String: [String: JSONValue]]
            var cursor: String?
            var outbox: [PendingVector]?
            var pages: [Page]
            var expectedStore: [String: [String: JSONValue]]
            var expectedCursor: String?
            var expectedOutbox: [PendingVector]?
        }

        struct PendingVector: Decodable, Equatable {
            var id: Int64
            var name: String
            var args: JSONValue
        }

        struct Page: Decodable {
            var reset: Bool
            var changes: [Change]
            var cursor: String
            var lastMutationId: Int64
            var hasMore: Bool
        }

        var cases: [Case]
    }

    static func vectors() throws -> ApplyVectors {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try JSONDecoder().decode(
            ApplyVectors.self,
            from: Data(contentsOf: root.appendingPathComponent("SyncProtocol/vectors/client-apply.json"))
        )
    }

    static func temporaryStore() throws -> LocalStore {
        try LocalStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("hc-client-\(UUID().uuidString).sqlite").path)
    }

    static func checkpoint() -> Checkpoint { Checkpoint(digest: "", kid: "", signature: "") }

    @Test func theClientApplyVectorsHoldOnTheSQLiteStore() async throws {
        for vector in try Self.vectors().cases {
            let store = try Self.temporaryStore()
            // The starting state: the store's records as a snapshot page, the outbox as given.
            var seed: [Change] = []
            for (collection, records) in vector.store {
                for (id, data) in records { seed.append(Change(collection: collection, id: id, op: .upsert, version: 0, data: data)) }
            }
            try await store.apply(
                PullResponse(
                    cursor: vector.cursor ?? "",
                    reset: true,
                    changes: seed,
                    hasMore: false,
                    lastMutationId: 0,
                    checkpoint: Self.checkpoint()
                )
            )
            try await store.seedOutbox((vector.outbox ?? []).map { PendingMutation(id: $0.id, name: $0.name, args: $0.args) })
            for page in vector.pages {
                try await store.apply(
                    PullResponse(
                        cursor: page.cursor,
                        reset: page.reset,
                        changes: page.changes,
                        hasMore: page.hasMore,
                        lastMutationId: page.lastMutationId,
                        checkpoint: Self.checkpoint()
                    )
                )
            }
            var actual: [String: [String: JSONValue]] = [:]
            for collection in try await store.collections() {
                let records = try await store.records(collection)
                if !records.isEmpty { actual[collection] = records }
            }
            #expect(actual == vector.expectedStore, "\(vector.name)")
            if let cursor = vector.expectedCursor { #expect(try await store.cursor == cursor, "\(vector.name)") }
            if let outbox = vector.expectedOutbox {
                #expect(
                    try await store.pending().map { ApplyVectors.PendingVector(id: $0.id, name: $0.name, args: $0.args) } == outbox,
                    "\(vector.name)"
                )
            }
        }
    }

    /// Signs in through the API and refreshes through it when the server says the token expired.
    actor ServerSession: SyncAuthenticator {
        let base: URL
        var access: String
        var refreshToken: String
        var refreshes = 0

        init(base: URL, access: String, refresh: String) {
            self.base = base
            self.access = access
            self.refreshToken = refresh
        }

        func accessToken() async throws -> String { access }

        func refresh() async throws -> Bool {
            refreshes += 1
            var request = URLRequest(url: base.appendingPathComponent("api/v1/auth/refresh"))
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: ["refreshToken": refreshToken])
            let (data, response) = try await URLSession.shared.data(for: request)
            guard (response as? HTTPURLResponse)?.statusCode == 200,
                let body = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let access = body["accessToken"] as? String, let refresh = body["refreshToken"] as? String
            else { return false }
            self.access = access
            self.refreshToken = refresh
            return true
        }
    }

    static let pipeline = DemoPipeline(steps: [OrganisationsStep(), AccountsStep(), CatalogStep(), ReportHistoryStep(days: 14), OpenWarningsStep()])

    /// A leader's device: first sync, an optimistic acknowledgement that the server then confirms,
    /// a refused mutation that blocks nothing, a restart on the same file, and an access token
    /// that expires mid-sync (one refresh, then on with the outbox intact).
    @Test(arguments: TestEngine.available)
    func aDeviceSyncsAcknowledgesAndSurvivesExpiryAndRestart(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let time = ManualClock(TestClock.start)
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, mode: .live, clock: time.clock, dataDirectory: directory) { client in
            let port = try #require(client.port)
            let base = URL(string: "http://127.0.0.1:\(port)")!
            let accounts = try DemoAccounts(directory: directory)
            let tokens = try await client.signIn(try accounts.staff("leader.city"), at: time.clock.now)
            let session = ServerSession(base: base, access: tokens.access, refresh: tokens.refresh)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("hc-device-\(UUID().uuidString).sqlite").path
            let acknowledge: LocalMutator = { args, records in
                guard case .object(let fields) = args, case .integer(let id)? = fields["warningId"],
                    case .object(var warning)? = records["warnings"]?[String(id)]
                else { return }
                warning["status"] = .string("acknowledged")
                warning["acknowledgementNote"] = fields["note"] ?? .null
                records["warnings"]?[String(id)] = .object(warning)
            }
            let configuration = SyncClient.Configuration(baseURL: base, clientId: "device-\(engine.rawValue)-leader", pageLimit: 50)
            let device = SyncClient(configuration: configuration, store: try LocalStore(path: path), authenticator: session)
            await device.register("acknowledgeWarning", mutator: acknowledge)

            let first = try await device.sync()
            #expect(first.resets == 1 && first.pages >= 1 && first.changes > 0)
            let warnings = try await device.records("warnings")
            let open = warnings.filter { if case .object(let w) = $0.value, w["status"] == .string("open") { true } else { false } }.keys.sorted {
                Int($0)! < Int($1)!
            }
            try #require(open.count >= 2)
            #expect(try await device.records("cockpitHome").keys.sorted() == ["city"])

            // Optimistic: shown acknowledged at once, confirmed by the server on sync.
            try await device.mutate("acknowledgeWarning", args: .object(["warningId": .integer(Int64(open[0])!), "note": .string("已处理")]))
            try await device.mutate("acknowledgeWarning", args: .object(["warningId": .integer(Int64(open[0])!), "note": .string("重复")]))
            try await device.mutate("acknowledgeWarning", args: .object(["warningId": .integer(Int64(open[1])!), "note": .string("已通知")]))
            if case .object(let local)? = try await device.records("warnings")[open[0]] { #expect(local["status"] == .string("acknowledged")) }
            #expect(try await device.store.pending().count == 3)

            // The access token expires before the push: one refresh, and the outbox goes through.
            time.advance(by: 16 * 60)
            let second = try await device.sync()
            #expect(await session.refreshes == 1)
            #expect(second.pushed == 2 && second.rejected == 1)
            #expect(try await device.store.pending().isEmpty, "the pull's lastMutationId cleared the outbox")
            #expect(try await device.store.rejections().map(\.code) == ["already_acknowledged"])
            for id in open.prefix(2) {
                if case .object(let server)? = try await device.store.records("warnings")[id] { #expect(server["status"] == .string("acknowledged")) }
            }

            // Killed and restarted: the same file continues from its cursor with nothing to do.
            let restarted = SyncClient(configuration: configuration, store: try LocalStore(path: path), authenticator: session)
            let third = try await restarted.sync()
            #expect(third.resets == 0 && third.changes <= 1, "only the home record may have changed")
            #expect(try await restarted.records("warnings").count == warnings.count)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
