import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import HealthCloudTestSupport
import HummingbirdTesting
import NIOCore
import Testing

/// The sync protocol's server side over HTTP, on both engines: partitions, signed pages,
/// resumable cursors, exactly-once mutations, revocation and version negotiation.
@Suite struct SyncTests {
    static let pipeline = DemoPipeline(steps: [OrganisationsStep(), AccountsStep(), CatalogStep(), ReportHistoryStep(days: 21), OpenWarningsStep()])

    /// Pulls every page from `cursor`, verifying each checkpoint; returns the records by
    /// collection and id after applying the pages in order (as a client would), the final
    /// cursor and the first page's reset flag.
    static func pullAll(
        _ client: any TestClientProtocol,
        token: String,
        clientId: String,
        cursor: String? = nil,
        limit: Int = 150,
        records: [String: [String: JSONValue]] = [:]
    ) async throws -> (records: [String: [String: JSONValue]], cursor: String, reset: Bool, pages: Int, lastMutationId: Int64) {
        var records = records
        var cursor = cursor
        var firstReset: Bool?
        var pages = 0
        var lastMutationId: Int64 = 0
        while true {
            let response = try await client.execute(
                uri: "/api/v1/sync/pull",
                method: .post,
                headers: [.authorization: "Bearer \(token)"],
                body: ByteBuffer(bytes: try JSONEncoder().encode(PullRequest(clientId: clientId, cursor: cursor, limit: limit)))
            ) { $0 }
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let page = try JSONDecoder().decode(PullResponse.self, from: Data(response.body.readableBytesView))
            #expect(PageDigest.verify(page, publicKey: TestDatabase.keys.signingKey.publicKey), "page \(pages) verifies")
            #expect(page.changes.count <= limit)
            if firstReset == nil { firstReset = page.reset }
            if page.reset { records = [:] }
            #expect(zip(page.changes, page.changes.dropFirst()).allSatisfy { $0.version < $1.version }, "versions increase")
            for change in page.changes {
                records[change.collection, default: [:]][change.id] = change.op == .delete ? nil : change.data
            }
            cursor = page.cursor
            lastMutationId = page.lastMutationId
            pages += 1
            if !page.hasMore { break }
            #expect(pages < 500)
        }
        return (records, cursor!, firstReset ?? false, pages, lastMutationId)
    }

    static func push(_ client: any TestClientProtocol, token: String, clientId: String, _ mutations: [Mutation]) async throws -> TestResponse {
        try await client.execute(
            uri: "/api/v1/sync/push",
            method: .post,
            headers: [.authorization: "Bearer \(token)"],
            body: ByteBuffer(bytes: try JSONEncoder().encode(PushRequest(clientId: clientId, mutations: mutations)))
        ) { $0 }
    }

    static func results(_ response: TestResponse) throws -> [MutationResult] {
        try JSONDecoder().decode(PushResponse.self, from: Data(response.body.readableBytesView)).results
    }

    static func string(_ value: JSONValue?, _ key: String) -> String? {
        if case .object(let object)? = value, case .string(let text)? = object[key] { return text }
        return nil
    }

    @Test(arguments: TestEngine.available)
    func eachRolePullsItsPartitionInSignedResumablePages(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let pudong = try await client.signIn(try accounts.staff("leader.pudong")).access

            // A leader: the district's and its hospitals' warnings, and the home record, in
            // pages small enough that there are at least two whatever the demo's warnings.
            let rest = try await client.get("/api/v1/warnings?scope=district:310115&status=all&limit=1000", token: pudong)
            let expected = Set((try rest.json()["warnings"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? Int).map(String.init) })
            try #require(!expected.isEmpty, "the demo's district has warnings")
            let pageSize = max(1, (expected.count + 1) / 2)
            let first = try await Self.pullAll(client, token: pudong, clientId: "device-pudong-1", limit: pageSize)
            #expect(first.reset && first.pages > 1, "\(first.pages) pages")
            #expect(Set(first.records["warnings"]?.keys ?? [:].keys) == expected, "exactly the district's warnings")
            #expect(first.records["cockpitHome"]?.keys.sorted() == ["district:310115"])
            #expect(first.records["qcFindings"] == nil && first.records["notifications"] == nil)

            // Nothing new: an empty, non-reset page that keeps the cursor.
            let again = try await Self.pullAll(client, token: pudong, clientId: "device-pudong-1", cursor: first.cursor, records: first.records)
            #expect(!again.reset && again.pages == 1 && again.records == first.records)

            // A client killed between pages resumes from the last page it committed.
            let firstPage = try await client.execute(
                uri: "/api/v1/sync/pull",
                method: .post,
                headers: [.authorization: "Bearer \(pudong)"],
                body: ByteBuffer(bytes: try JSONEncoder().encode(PullRequest(clientId: "device-pudong-2", cursor: nil, limit: pageSize)))
            ) { $0 }
            let committed = try JSONDecoder().decode(PullResponse.self, from: Data(firstPage.body.readableBytesView))
            var partial: [String: [String: JSONValue]] = [:]
            for change in committed.changes { partial[change.collection, default: [:]][change.id] = change.data }
            #expect(committed.hasMore)
            let resumed = try await Self.pullAll(
                client,
                token: pudong,
                clientId: "device-pudong-2",
                cursor: committed.cursor,
                limit: 7,
                records: partial
            )
            #expect(!resumed.reset && resumed.records == first.records, "resuming gives the same store as one clean run")

            // A reporter: the open QC findings of its campus only.
            let reporterAccount = try accounts.staff("reporter.ruijin")
            let reporter = try await client.signIn(reporterAccount).access
            let reports = try await Self.pullAll(client, token: reporter, clientId: "device-reporter-1")
            let campus = Int64(reporterAccount.scope.split(separator: ":")[1])!
            let findings = reports.records["qcFindings"] ?? [:]
            #expect(findings.values.allSatisfy { if case .object(let o) = $0, case .integer(let c)? = o["campusId"] { c == campus } else { false } })
            #expect(reports.records["warnings"] == nil)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(arguments: TestEngine.available)
    func mutationsApplyExactlyOnceAndARejectedOneBlocksNothing(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            let device = "device-city-1"
            let pulled = try await Self.pullAll(client, token: city, clientId: device)
            let open = (pulled.records["warnings"] ?? [:]).filter { Self.string($0.value, "status") == "open" }.map(\.key).sorted {
                Int($0)! < Int($1)!
            }
            try #require(open.count >= 2, "the demo has open warnings")
            let (w1, w2) = (Int64(open[0])!, Int64(open[1])!)
            let ack1 = Mutation(id: 1, name: "acknowledgeWarning", args: .object(["warningId": .integer(w1), "note": .string("已增开床位")]))

            let applied = try await Self.push(client, token: city, clientId: device, [ack1])
            #expect(try Self.results(applied) == [MutationResult(id: 1, status: .applied)])
            // A replay answers from the record and does not act again.
            let replay = try await Self.push(client, token: city, clientId: device, [ack1])
            #expect(try Self.results(replay) == [MutationResult(id: 1, status: .applied)])
            let events = try await client.get("/api/v1/warnings/\(w1)", token: city)
            let kinds = (try events.json()["events"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(kinds.filter { $0 == "acknowledged" }.count == 1)
            // The same id with another body: 409, nothing applied.
            var changed = ack1
            changed.args = .object(["warningId": .integer(w1), "note": .string("different")])
            let reused = try await Self.push(client, token: city, clientId: device, [changed])
            #expect(try reused.status == .conflict && (try reused.apiError().code) == "mutation_id_reused")

            // A conflict and a bad mutation are rejected alone; the one behind them applies.
            let batch = try await Self.push(
                client,
                token: city,
                clientId: device,
                [
                    Mutation(id: 2, name: "acknowledgeWarning", args: .object(["warningId": .integer(w1), "note": .string("again")])),
                    Mutation(id: 3, name: "acknowledgeWarning", args: .object(["warningId": .string("x")])),
                    Mutation(id: 4, name: "noSuchThing", args: .object([:])),
                    Mutation(id: 5, name: "acknowledgeWarning", args: .object(["warningId": .integer(w2), "note": .string("已通知区卫健委")])),
                ]
            )
            let results = try Self.results(batch)
            #expect(results.map(\.status) == [.rejected, .rejected, .rejected, .applied])
            #expect(results.map(\.code) == ["already_acknowledged", "invalid_field", "unknown_mutation", nil])

            // The next pull says how far the server has got and shows the conflict as a record.
            let after = try await Self.pullAll(client, token: city, clientId: device, cursor: pulled.cursor, records: pulled.records)
            #expect(!after.reset && after.lastMutationId == 5)
            #expect(Self.string(after.records["warnings"]?[String(w1)], "status") == "acknowledged")
            #expect(Self.string(after.records["warnings"]?[String(w2)], "acknowledgementNote") == "已通知区卫健委")
            // Keyed `<accountId>:<clientId>:<mutationId>` (bound to the account that pushed).
            #expect(Self.string(after.records["syncConflicts"]?.first { $0.key.hasSuffix(":\(device):2") }?.value, "code") == "already_acknowledged")
            // Another device of the same leader does not see this device's conflicts.
            let other = try await Self.pullAll(client, token: city, clientId: "device-city-2")
            #expect(other.records["syncConflicts"] == nil)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(arguments: TestEngine.available)
    func reportsAndNotificationsSyncThroughTheirMutations(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, sms: sms, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let reporterAccount = try accounts.staff("reporter.ruijin")
            let reporter = try await client.signIn(reporterAccount).access
            let campus = Int64(reporterAccount.scope.split(separator: ":")[1])!
            let today = Day(shanghaiTimeOf: Int64(TestClock.now.timeIntervalSince1970))
            let report = JSONValue.object([
                "icu": .object([
                    "bedsTotal": .integer(20), "bedsOccupied": .integer(30), "convertibleBeds": .integer(0),
                    "ventilatorsTotal": .integer(4), "ventilatorsInUse": .integer(2),
                ])
            ])
            var fixed = report
            if case .object(var body) = fixed, case .object(var icu)? = body["icu"] {
                icu["bedsOccupied"] = .integer(12)
                body["icu"] = .object(icu)
                fixed = .object(body)
            }
            let pushed = try await Self.push(
                client,
                token: reporter,
                clientId: "device-reporter-2",
                [
                    Mutation(
                        id: 1,
                        name: "submitReport",
                        args: .object(["campusId": .integer(campus), "date": .string(today.description), "report": report])
                    ),
                    Mutation(
                        id: 2,
                        name: "submitReport",
                        args: .object(["campusId": .integer(campus), "date": .string(today.description), "report": fixed])
                    ),
                    Mutation(
                        id: 3,
                        name: "submitReport",
                        args: .object(["campusId": .integer(campus + 1_000_000), "date": .string(today.description), "report": fixed])
                    ),
                ]
            )
            let results = try Self.results(pushed)
            #expect(results.map(\.status) == [.rejected, .applied, .rejected], "\(results)")
            #expect(results[0].code == "report_rejected" && results[0].message?.contains("icu.bedsOccupied") == true)
            #expect(results[2].code == "campus_not_found")
            // The report went through the same ingestion as PUT: it is the campus's current version.
            let stored = try await client.get("/api/v1/reports/\(campus)/\(today)", token: reporter)
            #expect(stored.status == .ok)

            // A patient: the welcome notification, marked read by a mutation, read again idempotently.
            let patient = try #require(accounts.patients.first)
            _ = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": patient.phone])
            let code = String(try #require(sms.messages(to: patient.phone).first?.text.firstMatch(of: /\d{6}/)).output)
            let login = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": patient.phone, "code": code])
            let token = try #require(try login.json()["accessToken"] as? String)
            let inbox = try await Self.pullAll(client, token: token, clientId: "phone-patient-1")
            let welcome = try #require(inbox.records["notifications"]?.first)
            #expect(Self.string(welcome.value, "kind") == "welcome")
            let read = try await Self.push(
                client,
                token: token,
                clientId: "phone-patient-1",
                [
                    Mutation(id: 1, name: "markNotificationRead", args: .object(["notificationId": .integer(Int64(welcome.key)!)])),
                    Mutation(id: 2, name: "markNotificationRead", args: .object(["notificationId": .integer(Int64(welcome.key)!)])),
                    Mutation(id: 3, name: "markNotificationRead", args: .object(["notificationId": .integer(999_999)])),
                ]
            )
            #expect(try Self.results(read).map(\.status) == [.applied, .applied, .rejected])
            let after = try await Self.pullAll(client, token: token, clientId: "phone-patient-1", cursor: inbox.cursor, records: inbox.records)
            if case .object(let data)? = after.records["notifications"]?[welcome.key] {
                #expect(data["readAt"].map { if case .integer = $0 { true } else { false } } == true)
            } else {
                Issue.record("the notification is gone")
            }
            // A patient may not acknowledge warnings.
            let refused = try await Self.push(
                client,
                token: token,
                clientId: "phone-patient-1",
                [
                    Mutation(id: 4, name: "acknowledgeWarning", args: .object(["warningId": .integer(1), "note": .string("x")]))
                ]
            )
            #expect(try Self.results(refused).first?.status == .rejected)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A district leader moved to another district: the next pull is a reset without a single
    /// row of the old district, with the new district's rows.
    @Test(arguments: TestEngine.available)
    func losingAScopeRemovesItsRowsOnTheNextPull(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.identity.sessionCacheSeconds = 0 }
        try await withTestApp(
            engine,
            demo: true,
            pipeline: Self.pipeline,
            dataDirectory: directory,
            configure: configure
        ) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let pudong = try await client.signIn(try accounts.staff("leader.pudong")).access
            let before = try await Self.pullAll(client, token: pudong, clientId: "device-moved-1")
            #expect(!(before.records["warnings"] ?? [:]).isEmpty)
            try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                let id = try #require(try await database.identity.accountId(username: "leader.pudong"))
                #expect(try await database.identity.revoke(RoleAssignment(role: .leader, scope: .district("310115")), from: id))
                try await database.identity.grant(RoleAssignment(role: .leader, scope: .district("310101")), to: id, by: nil, now: 1)
            }
            let after = try await Self.pullAll(client, token: pudong, clientId: "device-moved-1", cursor: before.cursor, records: before.records)
            #expect(after.reset, "other grants: a fresh snapshot")
            let scopes = (after.records["warnings"] ?? [:]).values.compactMap { Self.string($0, "scope") }
            let huangpu = try await client.get("/api/v1/warnings?scope=district:310101&status=all&limit=1000", token: pudong)
            let expected = Set((try huangpu.json()["warnings"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? Int).map(String.init) })
            #expect(Set((after.records["warnings"] ?? [:]).keys) == expected)
            #expect(!scopes.contains("district:310115"))
            #expect(after.records["cockpitHome"]?.keys.sorted() == ["district:310101"])
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test func versionsAndBadRequestsAreAnsweredClearly() async throws {
        let directory = scratchDirectory()
        try await withTestApp(.sqlite, demo: true, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            func pull(_ body: [String: Any]) async throws -> TestResponse {
                try await client.send(.post, "/api/v1/sync/pull", token: city, json: body)
            }
            let future = try await pull(["protocolVersion": 2, "schemaVersion": 1, "clientId": "device-abc-1", "cursor": NSNull()])
            #expect(try future.status.code == 426 && (try future.apiError().code) == "upgrade_required")
            let newerSchema = try await pull(["protocolVersion": 1, "schemaVersion": 9, "clientId": "device-abc-1", "cursor": NSNull()])
            #expect(newerSchema.status.code == 426)
            let badClient = try await pull(["protocolVersion": 1, "schemaVersion": 1, "clientId": "x", "cursor": NSNull()])
            #expect(try badClient.status == .badRequest && (try badClient.apiError().field) == "clientId")
            let badLimit = try await pull(["protocolVersion": 1, "schemaVersion": 1, "clientId": "device-abc-1", "cursor": NSNull(), "limit": 5000])
            #expect(try badLimit.status == .badRequest && (try badLimit.apiError().field) == "limit")
            // A cursor that is not one of ours: a reset, not an error.
            let garbage = try await pull(["protocolVersion": 1, "schemaVersion": 1, "clientId": "device-abc-1", "cursor": "not-a-cursor"])
            #expect(try garbage.status == .ok && (try garbage.json()["reset"] as? Bool) == true)
            // A cursor of an older schema version (a new collection arrived): a reset that backfills.
            let current = try await pull(["protocolVersion": 1, "schemaVersion": 1, "clientId": "device-abc-1", "cursor": NSNull()])
            let token = try #require(try current.json()["cursor"] as? String)
            var cursor = try #require(SyncCursor(token: token))
            let fresh = try await pull(["protocolVersion": 1, "schemaVersion": 1, "clientId": "device-abc-1", "cursor": cursor.token])
            #expect(try fresh.json()["reset"] as? Bool == false)
            cursor.s = 0
            let older = try await pull(["protocolVersion": 1, "schemaVersion": 1, "clientId": "device-abc-1", "cursor": cursor.token])
            #expect(try older.json()["reset"] as? Bool == true)
            // A cursor from before the tombstone horizon: a reset, never a silent replay.
            try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                try await database.write { db in
                    try await db.sync.put(
                        collection: "warnings",
                        id: "gone",
                        audience: SyncAudience(role: "leader", path: "city"),
                        data: .object([:]),
                        now: 1
                    )
                    try await db.sync.remove(collection: "warnings", id: "gone", now: 2)
                }
                #expect(try await database.sync.purgeTombstones(before: 10) == 1)
            }
            cursor.s = 1
            let purged = try await pull(["protocolVersion": 1, "schemaVersion": 1, "clientId": "device-abc-1", "cursor": cursor.token])
            #expect(try purged.json()["reset"] as? Bool == true)
            let unordered = try await client.send(
                .post,
                "/api/v1/sync/push",
                token: city,
                json: [
                    "protocolVersion": 1, "clientId": "device-abc-1",
                    "mutations": [["id": 2, "name": "acknowledgeWarning", "args": [:]], ["id": 1, "name": "acknowledgeWarning", "args": [:]]],
                ]
            )
            #expect(try unordered.status == .badRequest && (try unordered.apiError().field) == "mutations[1].id")
            let anonymous = try await client.send(
                .post,
                "/api/v1/sync/pull",
                json: ["protocolVersion": 1, "schemaVersion": 1, "clientId": "device-abc-1"]
            )
            #expect(anonymous.status == .unauthorized)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
