import Foundation
import HTTPTypes
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import HealthCloudApp

/// Walks every route of the real router with every role, anonymously and with a foreign
/// scope. A new route without an access declaration, or without a probe here, fails.
@Suite struct AccessMatrixTests {
    /// How to call a route so that authorization is what decides: mutating routes get a body
    /// their handler will refuse (400) after the middleware let the call through.
    struct Probe {
        var uri: String
        var body: [String: Any]? = nil
        /// A call that must be refused with `forbidden_scope`: (username, uri).
        var foreign: (username: String, uri: String)? = nil
        /// Run after every other probe of the same account (it ends the session).
        var last = false
        /// Accounts to use instead of the role's default one (whose scope does not fit this route).
        var accounts: [Role: String] = [:]
    }

    nonisolated(unsafe) static let probes: [String: Probe] = [
        "GET /api/v1/me": Probe(uri: "/api/v1/me"),
        "POST /api/v1/sync/pull": Probe(uri: "/api/v1/sync/pull", body: [:]),
        "POST /api/v1/sync/push": Probe(uri: "/api/v1/sync/push", body: [:]),
        "GET /api/v1/sync/live": Probe(uri: "/api/v1/sync/live"),
        "POST /api/v1/auth/logout": Probe(uri: "/api/v1/auth/logout", last: true),
        "PUT /api/v1/me/real-name": Probe(uri: "/api/v1/me/real-name", body: [:]),
        "GET /api/v1/admin/accounts": Probe(
            uri: "/api/v1/admin/accounts?scope=district:310115",
            foreign: ("admin.pudong", "/api/v1/admin/accounts?scope=district:310101")
        ),
        "POST /api/v1/admin/accounts": Probe(uri: "/api/v1/admin/accounts", body: [:]),
        "POST /api/v1/admin/accounts/{id}/roles": Probe(uri: "/api/v1/admin/accounts/1/roles", body: [:]),
        "DELETE /api/v1/admin/accounts/{id}/roles": Probe(uri: "/api/v1/admin/accounts/1/roles?role=nobody&scope=city"),
        "GET /api/v1/admin/accounts/{id}/personal-data": Probe(
            uri: "/api/v1/admin/accounts/999999/personal-data",
            foreign: ("admin.pudong", "/api/v1/admin/accounts/1/personal-data")
        ),
        "GET /api/v1/admin/audit": Probe(uri: "/api/v1/admin/audit?limit=1", foreign: ("admin.pudong", "/api/v1/admin/audit")),
        "PUT /api/v1/reports/{campusId}/{date}": Probe(
            uri: "/api/v1/reports/1/2026-11-20",
            body: ["icu": "not a section"],
            foreign: ("reporter.pudong-people", "/api/v1/reports/1/2026-11-20")
        ),
        "GET /api/v1/reports/{campusId}/{date}": Probe(
            uri: "/api/v1/reports/1/2026-11-20",
            foreign: ("leader.pudong", "/api/v1/reports/1/2026-11-20")
        ),
        "POST /api/v1/reports:batch": Probe(uri: "/api/v1/reports:batch", body: [:]),
        "POST /api/v1/reports/{campusId}/{date}/versions/{version}/approve": Probe(
            uri: "/api/v1/reports/1/2026-11-20/versions/9/approve",
            foreign: ("reporter.ruijin", "/api/v1/reports/1/2026-11-20/versions/9/approve"),
            accounts: [.reporter: "reporter.huangpu"]
        ),
        "POST /api/v1/reports/{campusId}/{date}/versions/{version}/decline": Probe(
            uri: "/api/v1/reports/1/2026-11-20/versions/9/decline",
            foreign: ("reporter.ruijin", "/api/v1/reports/1/2026-11-20/versions/9/decline"),
            accounts: [.reporter: "reporter.huangpu"]
        ),
        "GET /api/v1/qc/summary": Probe(uri: "/api/v1/qc/summary?scope=campus:1", foreign: ("leader.pudong", "/api/v1/qc/summary?scope=campus:1")),
        "GET /api/v1/qc/findings": Probe(uri: "/api/v1/qc/findings?scope=campus:1", foreign: ("leader.pudong", "/api/v1/qc/findings?scope=campus:1")),
        "PUT /api/v1/admin/catalog/{code}": Probe(
            uri: "/api/v1/admin/catalog/bad%20code",
            body: [:],
            foreign: ("admin.pudong", "/api/v1/admin/catalog/N95")
        ),
        "POST /api/v1/admin/system-credentials": Probe(uri: "/api/v1/admin/system-credentials", body: [:]),
        "DELETE /api/v1/admin/system-credentials/{id}": Probe(uri: "/api/v1/admin/system-credentials/999999"),
        "GET /api/v1/admin/qc-rules": Probe(uri: "/api/v1/admin/qc-rules", foreign: ("admin.pudong", "/api/v1/admin/qc-rules")),
        "PUT /api/v1/admin/qc-rules": Probe(uri: "/api/v1/admin/qc-rules", body: [:], foreign: ("admin.pudong", "/api/v1/admin/qc-rules")),
        "GET /api/v1/cockpit": Probe(uri: "/api/v1/cockpit?scope=campus:1", foreign: ("leader.pudong", "/api/v1/cockpit?scope=campus:1")),
        "GET /api/v1/cockpit/trend": Probe(
            uri: "/api/v1/cockpit/trend?scope=campus:1&metric=icu.occupancyRate",
            foreign: ("leader.pudong", "/api/v1/cockpit/trend?scope=city&metric=icu.occupancyRate")
        ),
        "GET /api/v1/cockpit/ranking": Probe(
            uri: "/api/v1/cockpit/ranking?scope=district:310101&metric=feverClinic.visits",
            foreign: ("leader.pudong", "/api/v1/cockpit/ranking?scope=district:310101&metric=feverClinic.visits")
        ),
        "GET /api/v1/warnings": Probe(uri: "/api/v1/warnings?scope=campus:1", foreign: ("leader.pudong", "/api/v1/warnings?scope=city")),
        "GET /api/v1/warnings/{id}": Probe(uri: "/api/v1/warnings/999999"),
        "POST /api/v1/warnings/{id}/ack": Probe(uri: "/api/v1/warnings/999999/ack", body: [:]),
        "POST /api/v1/warnings/{id}/resolve": Probe(uri: "/api/v1/warnings/999999/resolve", body: [:]),
        "GET /api/v1/admin/warning-rules": Probe(uri: "/api/v1/admin/warning-rules", foreign: ("admin.pudong", "/api/v1/admin/warning-rules")),
        "PUT /api/v1/admin/warning-rules": Probe(
            uri: "/api/v1/admin/warning-rules",
            body: [:],
            foreign: ("admin.pudong", "/api/v1/admin/warning-rules")
        ),
        "POST /api/v1/prechecks": Probe(uri: "/api/v1/prechecks", body: [:]),
        "POST /api/v1/notifications/{id}/read": Probe(uri: "/api/v1/notifications/999999/read", body: [:]),
        "GET /api/v1/prechecks/{id}": Probe(uri: "/api/v1/prechecks/999999"),
        "POST /api/v1/appointments": Probe(uri: "/api/v1/appointments", body: [:]),
        "GET /api/v1/appointments": Probe(uri: "/api/v1/appointments?limit=0"),
        "GET /api/v1/appointments/{id}": Probe(uri: "/api/v1/appointments/999999"),
        "DELETE /api/v1/appointments/{id}": Probe(uri: "/api/v1/appointments/999999"),
        "GET /api/v1/appointments/{id}/pass": Probe(uri: "/api/v1/appointments/999999/pass"),
        "GET /api/v1/appointments/{id}/pass.svg": Probe(uri: "/api/v1/appointments/999999/pass.svg"),
        "GET /api/v1/appointments/{id}/pass.png": Probe(uri: "/api/v1/appointments/999999/pass.png"),
        "POST /api/v1/appointments/{id}/grading": Probe(uri: "/api/v1/appointments/999999/grading", body: [:]),
        "GET /api/v1/appointments/{id}/gradings": Probe(uri: "/api/v1/appointments/999999/gradings"),
        "POST /api/v1/checkins": Probe(uri: "/api/v1/checkins", body: [:]),
        "POST /api/v1/checkins:batch": Probe(uri: "/api/v1/checkins:batch", body: [:]),
        "GET /api/v1/sites/{id}/queue": Probe(uri: "/api/v1/sites/999999/queue", foreign: ("doctor.phc", "/api/v1/sites/1/queue")),
    ]

    /// One account per role (the widest scope the demo has for it).
    static let accountsByRole: [Role: String] = [
        .admin: "admin", .leader: "leader.city", .reporter: "reporter.ruijin", .doctor: "doctor.ruijin",
        .pharmacist: "pharmacist.ruijin", .kiosk: "kiosk.ruijin-fever", .volunteer: "volunteer.1",
    ]

    @Test(arguments: TestEngine.available)
    func everyRouteIsDeclaredAndEnforcedForEveryRole(engine: TestEngine) async throws {
        print("app test access matrix on \(engine.rawValue)")
        let location = try await TestDatabase.freshLocation(engine)
        let directory = scratchDirectory()
        let configuration = {
            var configuration = AppConfiguration(database: location, demo: true, logLevel: .warning)
            configuration.identity.passwordIterations = 1_000
            configuration.dataDirectory = directory
            return configuration
        }()
        let sms = DevSMSSink()
        try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
            try await database.migrate()
            _ = try await DemoPipeline.forTests.run(
                DemoContext(
                    database: database,
                    reference: try ReferenceData.bundled(),
                    dataDirectory: directory,
                    today: TestClock.now,
                    passwordIterations: 1_000
                )
            )
            let (router, registry) = try buildRouter(configuration, dependencies: AppDependencies(database: database, clock: .test, sms: sms))

            // 1. Every route the router serves has a declaration.
            for route in router.routes {
                #expect(
                    registry.access(method: route.method, path: route.path.description) != nil,
                    "\(route.method) \(route.path) has no access declaration"
                )
            }
            // 2. Every route that needs a role has a probe.
            let guarded = registry.declared.compactMap { key, access -> (String, Set<Role>)? in
                switch access {
                case .open: return nil
                case .authenticated: return ("\(key.method) \(key.path)", Set(Role.allCases))
                case .roles(let roles, _): return ("\(key.method) \(key.path)", roles)
                }
            }.sorted { $0.0 < $1.0 }
            for (route, _) in guarded {
                #expect(Self.probes[route] != nil, "no access probe for \(route): add one to AccessMatrixTests.probes")
            }

            let app = Application(router: router)
            try await app.test(.router) { client in
                let accounts = try DemoAccounts(directory: directory)
                var tokens: [Role: String] = [:]
                // One sign-in per account: a TOTP code is accepted once per account.
                var narrowTokens: [String: String] = [:]
                for (role, username) in Self.accountsByRole {
                    tokens[role] = try await client.signIn(try accounts.staff(username)).access
                    narrowTokens[username] = tokens[role]
                }
                let patient = try #require(accounts.patients.first)
                _ = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": patient.phone])
                let code = String(try #require(sms.messages(to: patient.phone).first?.text.firstMatch(of: /\d{6}/)).output)
                let login = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": patient.phone, "code": code])
                tokens[.patient] = try #require(try login.json()["accessToken"] as? String)

                let ordered = guarded.sorted { (Self.probes[$0.0]?.last ?? false ? 1 : 0) < (Self.probes[$1.0]?.last ?? false ? 1 : 0) }
                for (route, allowed) in ordered {
                    guard let probe = Self.probes[route] else { continue }
                    let method = HTTPRequest.Method(String(route.split(separator: " ")[0]))!
                    // Anonymous and forged tokens: 401.
                    let anonymous = try await client.send(method, probe.uri, json: probe.body)
                    #expect(anonymous.status == .unauthorized, "\(route) anonymous → \(anonymous.status)")
                    let forged = try await client.send(method, probe.uri, token: "hca_forged", json: probe.body)
                    #expect(try forged.apiError().code == "token_invalid", "\(route) forged token")
                    // Foreign scope: 403 forbidden_scope.
                    if let foreign = probe.foreign {
                        if narrowTokens[foreign.username] == nil {
                            narrowTokens[foreign.username] = try await client.signIn(try accounts.staff(foreign.username)).access
                        }
                        let narrow = try #require(narrowTokens[foreign.username])
                        let answer = try await client.send(method, foreign.uri, token: narrow, json: probe.body)
                        #expect(
                            answer.status == .forbidden && (try? answer.apiError().code) == "forbidden_scope",
                            "\(route) as \(foreign.username) at \(foreign.uri) → \(answer.status) \(String(buffer: answer.body))"
                        )
                    }
                    for role in Role.allCases {
                        var token = try #require(tokens[role])
                        if let username = probe.accounts[role] {
                            if narrowTokens[username] == nil {
                                narrowTokens[username] = try await client.signIn(try accounts.staff(username)).access
                            }
                            token = try #require(narrowTokens[username])
                        }
                        let answer = try await client.send(method, probe.uri, token: token, json: probe.body)
                        if allowed.contains(role) {
                            #expect(
                                ![.unauthorized, .forbidden].contains(answer.status),
                                "\(route) as \(role) must pass authorization, got \(answer.status) \(String(buffer: answer.body))"
                            )
                        } else {
                            #expect(
                                answer.status == .forbidden && (try? answer.apiError().code) == "forbidden_role",
                                "\(route) as \(role) must be forbidden_role, got \(answer.status)"
                            )
                        }
                    }
                }
            }
        }
        try? await TestDatabase.drop(location)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
