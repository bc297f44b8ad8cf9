import Foundation
import HTTPTypes
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import HealthCloudTestSupport
import HummingbirdTesting
import Testing

@testable import HealthCloudApp

/// The route × role × scope matrix extended to sync pulls: for every scope kind (city, district,
/// institution, campus, site, patient) a pull holds exactly what the REST lists of that account
/// show, and nothing of another hospital, district, patient or account.
@Suite struct SyncAccessMatrixTests {
    static func ids(_ response: TestResponse, _ key: String) throws -> Set<String> {
        Set((try response.json()[key] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? Int).map(String.init) })
    }

    static func campusIds(_ records: [String: JSONValue]?) -> Set<Int64> {
        Set((records ?? [:]).values.compactMap { if case .object(let o) = $0, case .integer(let c)? = o["campusId"] { c } else { nil } })
    }

    @Test(arguments: TestEngine.available)
    func everyScopeKindPullsWhatItsRESTListsShow(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.identity.sessionCacheSeconds = 0 }
        try await withTestApp(
            engine,
            demo: true,
            pipeline: SyncTests.pipeline,
            sms: sms,
            dataDirectory: directory,
            configure: configure
        ) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let ruijinCampus = Int(try accounts.staff("reporter.ruijin").scope.split(separator: ":")[1])!
            // An institution-scoped leader and reporter (an admin may grant one): Ruijin hospital, all its campuses.
            let (institution, campuses) = try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                let institution = try #require(try await database.organisations.campus(id: ruijinCampus)).institutionId
                let campuses = try #require(try await database.organisations.institutions(districtCode: nil).first { $0.id == institution }).campusIds
                for (username, role, old) in [
                    ("leader.huangpu", Role.leader, Scope.district("310101")), ("reporter.huangpu", .reporter, .district("310101")),
                ] {
                    let id = try #require(try await database.identity.accountId(username: username))
                    #expect(try await database.identity.revoke(RoleAssignment(role: role, scope: old), from: id))
                    try await database.identity.grant(RoleAssignment(role: role, scope: .institution(institution)), to: id, by: nil, now: 1)
                }
                return (institution, Set(campuses.map(Int64.init)))
            }
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            func warnings(_ scope: String) async throws -> Set<String> {
                let response = try await client.get("/api/v1/warnings?scope=\(scope)&status=all&limit=1000", token: city)
                let ids = try Self.ids(response, "warnings")
                try #require(ids.count < 1000)
                return ids
            }

            // City and district leaders: exactly the warnings their REST list shows.
            let cityPull = try await SyncTests.pullAll(client, token: city, clientId: "matrix-city-1", limit: 1000)
            let expected1 = try await warnings("city")
            #expect(Set((cityPull.records["warnings"] ?? [:]).keys) == expected1)
            let pudong = try await client.signIn(try accounts.staff("leader.pudong")).access
            let pudongPull = try await SyncTests.pullAll(client, token: pudong, clientId: "matrix-pudong-1", limit: 1000)
            let expected2 = try await warnings("district:310115")
            #expect(Set((pudongPull.records["warnings"] ?? [:]).keys) == expected2)

            // Institution: its campuses' warnings and findings, none of the rest of its district.
            let leader = try await client.signIn(try accounts.staff("leader.huangpu")).access
            let own = try await client.get("/api/v1/warnings?scope=institution:\(institution)&status=all&limit=1000", token: leader)
            #expect(own.status == .ok)
            let expected = try Self.ids(own, "warnings")
            let district = try await warnings("district:310101")
            try #require(!district.subtracting(expected).isEmpty, "Huangpu has warnings outside Ruijin hospital")
            let refused = try await client.get("/api/v1/warnings?scope=district:310101", token: leader)
            #expect(refused.status == .forbidden)
            let leaderPull = try await SyncTests.pullAll(client, token: leader, clientId: "matrix-institution-1", limit: 1000)
            #expect(Set((leaderPull.records["warnings"] ?? [:]).keys) == expected, "exactly the institution's warnings")
            #expect(leaderPull.records["cockpitHome"] == nil && leaderPull.records["qcFindings"] == nil)

            let reporter = try await client.signIn(try accounts.staff("reporter.huangpu")).access
            let reporterPull = try await SyncTests.pullAll(client, token: reporter, clientId: "matrix-institution-2", limit: 1000)
            #expect(Self.campusIds(reporterPull.records["qcFindings"]).isSubset(of: campuses), "no finding of another hospital")
            for campus in campuses {
                let response = try await client.get("/api/v1/qc/findings?scope=campus:\(campus)&limit=1000", token: reporter)
                #expect(response.status == .ok, "campus \(campus) of the institution is readable over REST")
            }
            let foreign = try await client.get("/api/v1/qc/findings?scope=district:310101", token: reporter)
            #expect(foreign.status == .forbidden)
            #expect(reporterPull.records["warnings"] == nil)

            // Campus: the campus's findings only; its leader the campus's warnings only.
            let campusReporter = try await client.signIn(try accounts.staff("reporter.ruijin")).access
            let campusPull = try await SyncTests.pullAll(client, token: campusReporter, clientId: "matrix-campus-1", limit: 1000)
            #expect(Self.campusIds(campusPull.records["qcFindings"]).isSubset(of: [Int64(ruijinCampus)]))
            #expect(campusPull.records["warnings"] == nil)
            let campusLeader = try await client.signIn(try accounts.staff("leader.ruijin")).access
            let campusLeaderPull = try await SyncTests.pullAll(client, token: campusLeader, clientId: "matrix-campus-2", limit: 1000)
            let expected3 = try await warnings("campus:\(ruijinCampus)")
            #expect(Set((campusLeaderPull.records["warnings"] ?? [:]).keys) == expected3)

            // Site: a kiosk reads no collection.
            let kiosk = try await client.signIn(try accounts.staff("kiosk.ruijin-fever")).access
            let kioskPull = try await SyncTests.pullAll(client, token: kiosk, clientId: "matrix-site-1")
            let kioskEmpty = kioskPull.records.values.allSatisfy(\.isEmpty)
            #expect(kioskEmpty, "\(Array(kioskPull.records.keys))")

            // Patient: its own notifications, nobody else's.
            let patient = try #require(accounts.patients.first)
            _ = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": patient.phone])
            let otp = String(try #require(sms.messages(to: patient.phone).first?.text.firstMatch(of: /\d{6}/)).output)
            let login = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": patient.phone, "code": otp])
            let patientPull = try await SyncTests.pullAll(
                client,
                token: try #require(try login.json()["accessToken"] as? String),
                clientId: "matrix-patient-1"
            )
            #expect(
                Set(patientPull.records.filter { !$0.value.isEmpty }.keys).isSubset(of: ["notifications", "prechecks", "appointments", "visitPasses"])
            )
            #expect((patientPull.records["notifications"] ?? [:]).count >= 1)
            #expect(cityPull.records["notifications"] == nil, "a leader reads no patient's records")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A conflict record belongs to the account that pushed: another account naming the same
    /// `clientId` neither reads it nor overwrites it.
    @Test(arguments: TestEngine.available)
    func conflictRecordsAreBoundToTheirAccount(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, pipeline: SyncTests.pipeline, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            let pudong = try await client.signIn(try accounts.staff("leader.pudong")).access
            let device = "shared-device-1"
            let pudongStart = try await SyncTests.pullAll(client, token: pudong, clientId: device, limit: 1000)
            let open = (pudongStart.records["warnings"] ?? [:]).filter { SyncTests.string($0.value, "status") == "open" }.map(\.key).sorted()
            let warning = try #require(open.first.flatMap { Int64($0) })
            let ack = { (id: Int64, note: String) in
                Mutation(id: id, name: "acknowledgeWarning", args: .object(["warningId": .integer(warning), "note": .string(note)]))
            }
            // The city leader's device records a conflict (the second acknowledgement).
            let pushed = try await SyncTests.push(client, token: city, clientId: device, [ack(1, "first"), ack(2, "again")])
            #expect(try SyncTests.results(pushed).map(\.status) == [.applied, .rejected])
            let cityPull = try await SyncTests.pullAll(client, token: city, clientId: device, limit: 1000)
            let conflicts = cityPull.records["syncConflicts"] ?? [:]
            #expect(conflicts.count == 1)

            // Pudong's leader names the same device: no conflict of the city's arrives.
            let pudongPull = try await SyncTests.pullAll(
                client,
                token: pudong,
                clientId: device,
                cursor: pudongStart.cursor,
                records: pudongStart.records
            )
            #expect(
                (pudongPull.records["syncConflicts"] ?? [:]).isEmpty,
                "another account's conflicts: \(pudongPull.records["syncConflicts"] ?? [:])"
            )
            // … and its own conflict with the same mutation id does not replace the city's.
            let theirs = try await SyncTests.push(client, token: pudong, clientId: device, [ack(1, "pudong"), ack(2, "pudong again")])
            #expect(try SyncTests.results(theirs).map(\.status) == [.rejected, .rejected])
            let cityAfter = try await SyncTests.pullAll(client, token: city, clientId: device, cursor: cityPull.cursor, records: cityPull.records)
            #expect(cityAfter.records["syncConflicts"] == conflicts, "the city's conflict record is untouched")
            let pudongAfter = try await SyncTests.pullAll(
                client,
                token: pudong,
                clientId: device,
                cursor: pudongPull.cursor,
                records: pudongPull.records
            )
            #expect((pudongAfter.records["syncConflicts"] ?? [:]).count == 2, "its own two conflicts")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
