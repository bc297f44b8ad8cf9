import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import HealthCloudStorage

/// Runs `body` against the real application (composition root, middleware, storage) on a
/// fresh database of `engine`, in process (`.router`) or over a loopback socket (`.live`).
func withTestApp<T: Sendable>(
    _ engine: TestEngine,
    demo: Bool = false,
    pipeline: DemoPipeline = .forTests,
    mode: TestingSetup = .router,
    clock: AppClock = .test,
    sms: DevSMSSink = DevSMSSink(),
    dataDirectory: String? = nil,
    configure: @Sendable (inout AppConfiguration) -> Void = { _ in },
    test: String = #function,
    _ body: @Sendable (any TestClientProtocol) async throws -> T
) async throws -> T {
    try await withTestApp(
        engine,
        demo: demo,
        pipeline: pipeline,
        mode: mode,
        clock: clock,
        sms: sms,
        dataDirectory: dataDirectory,
        configure: configure,
        test: test
    ) { client, _ in
        try await body(client)
    }
}

/// The same, also handing the test the database location (to act behind the server's back).
func withTestApp<T: Sendable>(
    _ engine: TestEngine,
    demo: Bool = false,
    pipeline: DemoPipeline = .forTests,
    mode: TestingSetup = .router,
    clock: AppClock = .test,
    sms: DevSMSSink = DevSMSSink(),
    dataDirectory: String? = nil,
    configure: @Sendable (inout AppConfiguration) -> Void = { _ in },
    test: String = #function,
    _ body: @Sendable (any TestClientProtocol, DatabaseLocation) async throws -> T
) async throws -> T {
    print("app test \(test) on \(engine.rawValue)")
    let location = try await TestDatabase.freshLocation(engine)
    let dataDirectory = dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("hc-app-\(UUID().uuidString.prefix(8))").path
    var configuration = AppConfiguration(hostname: "127.0.0.1", port: 0, database: location, demo: demo, logLevel: .warning)
    configuration.dataDirectory = dataDirectory
    configuration.identity.passwordIterations = 1_000
    configure(&configuration)
    let app = try buildApplication(
        configuration,
        keys: TestDatabase.keys,
        logger: TestDatabase.logger,
        clock: clock,
        sms: sms,
        hooks: AppHooks(prepare: { database in
            guard demo else { return }
            _ = try await pipeline.run(
                DemoContext(
                    database: database,
                    reference: try ReferenceData.bundled(),
                    dataDirectory: dataDirectory,
                    today: clock.now,
                    passwordIterations: 1_000
                )
            )
        })
    )
    defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
    do {
        let result = try await app.test(mode) { client in try await body(client, location) }
        try? await TestDatabase.drop(location)
        return result
    } catch {
        try? await TestDatabase.drop(location)
        throw error
    }
}

extension TestResponse {
    /// The body parsed as a JSON object.
    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        guard let dictionary = object as? [String: Any] else { throw TestResponseError("body is not a JSON object: \(String(buffer: body))") }
        return dictionary
    }

    /// `(code, field)` of an API error body, which must have exactly the documented shape.
    func apiError() throws -> (code: String, message: String, field: String?) {
        let object = try json()
        // Extra top-level keys (a rejected report's findings, a rule table's problems) may ride along.
        guard let error = object["error"] as? [String: Any],
            let code = error["code"] as? String, let message = error["message"] as? String,
            Set(error.keys).isSubset(of: ["code", "message", "field"])
        else { throw TestResponseError("not an API error body: \(String(buffer: body))") }
        return (code, message, error["field"] as? String)
    }
}

struct TestResponseError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension AppClock {
    /// The tests' clock (HC_TEST_DATE): the app and its demo data see the same fixed calendar.
    static let test = AppClock { TestClock.now }
}

extension DemoPipeline {
    /// The demo without its two years of report history (that is its own, slower test).
    static var forTests: DemoPipeline { DemoPipeline(steps: [OrganisationsStep(), AccountsStep(), CatalogStep()]) }
}

/// Today's report of a full ICU for the last two campuses of Pudong, Huangpu and Xuhui: six
/// open red ICU warnings on any date. The demo's own warnings follow its calendar (seasons,
/// weekends, restocking), so a test that needs open warnings adds these. (The last ones: the
/// tests report for the demo accounts' campuses, Ruijin and Pudong People's, themselves.)
struct OpenWarningsStep: DemoStep {
    var name: String { "test_open_warnings" }
    var title: String { "full ICUs today" }

    func run(_ context: DemoContext, progress: any DemoProgress) async throws -> String {
        let today = Day(shanghaiTimeOf: Int64(context.today.timeIntervalSince1970))
        var submissions: [ReportSubmission] = []
        for district in ["310115", "310101", "310104"] {
            let campuses = try await context.database.demo.campusIds(
                inDistrict: district,
                excludingInstitutions: ["上海交通大学医学院附属瑞金医院", "浦东新区人民医院"]
            ).prefix(2)
            for campus in campuses {
                let body = JSONValue.object([
                    "icu": .object([
                        "bedsTotal": .integer(20), "bedsOccupied": .integer(20), "convertibleBeds": .integer(0),
                        "ventilatorsTotal": .integer(4), "ventilatorsInUse": .integer(2),
                    ])
                ])
                submissions.append(
                    ReportSubmission(
                        campusId: campus,
                        date: today,
                        body: body,
                        correctionReason: nil,
                        submittedBy: nil,
                        submittedAt: Int64(context.today.timeIntervalSince1970)
                    )
                )
            }
        }
        let results = try await context.database.ingestion.ingest(submissions, today: today, now: Int64(context.today.timeIntervalSince1970))
        return "\(results.count) full ICUs"
    }
}

/// A scratch directory for one test's files (demo-accounts.json).
func scratchDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("hc-app-\(UUID().uuidString.prefix(8))").path
}

/// The demo accounts the demo step wrote.
struct DemoAccounts {
    struct Staff: Decodable {
        var role: String
        var scope: String
        var username: String
        var password: String
        var totpSecret: String
    }

    struct Patient: Decodable {
        var role: String
        var scope: String
        var phone: String
        var name: String
        var idNumber: String
    }

    var staff: [Staff]
    var patients: [Patient]

    init(directory: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("demo-accounts.json"))
        let entries = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let decoder = JSONDecoder()
        staff = try entries.filter { $0["role"] as? String != "patient" }.map {
            try decoder.decode(Staff.self, from: JSONSerialization.data(withJSONObject: $0))
        }
        patients = try entries.filter { $0["role"] as? String == "patient" }.map {
            try decoder.decode(Patient.self, from: JSONSerialization.data(withJSONObject: $0))
        }
    }

    func staff(_ username: String) throws -> Staff {
        try #require(staff.first { $0.username == username })
    }
}

/// JSON body helper.
func jsonBody(_ object: [String: Any]) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

extension TestClientProtocol {
    /// Password then TOTP (the server's own TOTP here; tools/checks does it with pyotp).
    func signIn(_ account: DemoAccounts.Staff, at date: Date = TestClock.now) async throws -> (access: String, refresh: String) {
        let mfaToken: String = try await execute(
            uri: "/api/v1/auth/staff/login",
            method: .post,
            body: jsonBody(["username": account.username, "password": account.password])
        ) { response throws in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            return try #require(try response.json()["mfaToken"] as? String)
        }
        let secret = try #require(Base32.decode(account.totpSecret))
        let code = TOTP(secret: secret).code(at: date)
        return try await execute(uri: "/api/v1/auth/staff/mfa", method: .post, body: jsonBody(["mfaToken": mfaToken, "code": code])) {
            response throws in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let body = try response.json()
            return (try #require(body["accessToken"] as? String), try #require(body["refreshToken"] as? String))
        }
    }

    func get(_ uri: String, token: String?) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: token.map { [.authorization: "Bearer \($0)"] } ?? [:]) { $0 }
    }

    func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: [String: Any]? = nil) async throws -> TestResponse {
        try await execute(uri: uri, method: method, headers: token.map { [.authorization: "Bearer \($0)"] } ?? [:], body: json.map(jsonBody)) { $0 }
    }
}

/// Runs SQL on a test app's database directly, as a DBA would (tampering, a restore): the
/// one door past the storage layer, for tests only.
func rawExecute(_ sql: String, on location: DatabaseLocation) async throws {
    try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
        try await rawExecute(sql, on: database)
    }
}

func rawExecute(_ sql: String, on database: AppDatabase) async throws {
    try await database.write { db in
        for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !statement.isEmpty {
            try await db.execute(statement)
        }
    }
}

/// The single integer a `SELECT COUNT(*)`-like statement returns, read as a DBA would.
func rawScalar(_ sql: String, on database: AppDatabase) async throws -> Int {
    try await database.database.scalarInt(sql)
}
