import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudTestSupport
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct ReportingTests {
    static let reportDay = Day("2026-11-20")!
    /// 08:00 Shanghai on the day after: reports are on time.
    static func clock() -> ManualClock {
        ManualClock(Date(timeIntervalSince1970: TimeInterval((reportDay + 1).unixSeconds(atShanghaiHour: 8))))
    }

    static func report(bedsOccupied: Int = 28, positives: Int = 6, emergency: Int = 250) -> [String: Any] {
        [
            "medicalService": [
                "outpatientVisits": 3000, "emergencyVisits": emergency, "admissions": 150, "discharges": 140, "inpatients": 1200,
                "surgeries": 60, "internetConsultations": 90,
            ],
            "feverClinic": [
                "visits": 120, "positives": positives, "referralsOut": 1, "waitingPatients": 5, "avgWaitMinutes": 20,
                "isolationRoomsTotal": 20, "isolationRoomsOccupied": 4,
            ],
            "vaccination": ["doses": 60, "firstDoses": 10, "boosterDoses": 40, "dosesAge60Plus": 25],
            "nucleicAcid": ["samplesCollected": 800, "samplesTested": 790, "positives": 2, "avgTurnaroundHours": 6, "dailyCapacity": 3000],
            "icu": ["bedsTotal": 40, "bedsOccupied": bedsOccupied, "convertibleBeds": 12, "ventilatorsTotal": 32, "ventilatorsInUse": 15],
            "drugs": [["code": "PAXLOVID", "stock": 300, "consumed": 12]],
            "materials": [["code": "N95", "stock": 20000, "consumed": 900]],
        ]
    }

    /// Campus ids from the demo's scopes.
    static func campus(_ accounts: DemoAccounts, _ username: String) throws -> Int {
        let scope = try accounts.staff(username).scope
        return try #require(Int(scope.dropFirst("campus:".count)))
    }

    @Test(arguments: TestEngine.available)
    func versionsCorrectionsAndRejectionsKeepWhatWasAccepted(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let clock = Self.clock()
        try await withTestApp(engine, demo: true, clock: clock.clock, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let reporter = try await client.signIn(try accounts.staff("reporter.ruijin"), at: clock.clock.now)
            let campus = try Self.campus(accounts, "reporter.ruijin")
            let uri = "/api/v1/reports/\(campus)/\(Self.reportDay)"

            let first = try await client.send(.put, uri, token: reporter.access, json: Self.report())
            #expect(first.status == .created, "\(String(buffer: first.body))")
            #expect(try first.json()["status"] as? String == "accepted")
            #expect(try first.json()["version"] as? Int == 1)

            let noReason = try await client.send(.put, uri, token: reporter.access, json: Self.report(emergency: 260))
            #expect(noReason.status == .unprocessableContent)
            #expect(try noReason.apiError().code == "correction_reason_required")
            #expect(try noReason.apiError().field == "correctionReason")

            var broken = Self.report(bedsOccupied: 45)
            broken["correctionReason"] = "急诊人次更正"
            var vaccination = broken["vaccination"] as! [String: Any]
            vaccination["dosesAge60Plus"] = 61
            broken["vaccination"] = vaccination
            let rejected = try await client.send(.put, uri, token: reporter.access, json: broken)
            #expect(rejected.status == .unprocessableContent)
            let body = try rejected.json()
            #expect((body["error"] as? [String: Any])?["code"] as? String == "report_rejected")
            let fields = Set(
                ((body["findings"] as? [[String: Any]]) ?? []).filter { $0["severity"] as? String == "error" }.compactMap { $0["field"] as? String }
            )
            #expect(fields == ["icu.bedsOccupied", "vaccination.dosesAge60Plus"])

            var corrected = Self.report(emergency: 260)
            corrected["correctionReason"] = "急诊人次漏报 10 人次"
            let second = try await client.send(.put, uri, token: reporter.access, json: corrected)
            #expect(second.status == .ok)
            #expect(try second.json()["version"] as? Int == 2)

            let history = try await client.get(uri, token: reporter.access)
            let view = try history.json()
            let current = try #require(view["current"] as? [String: Any])
            #expect(current["version"] as? Int == 2)
            #expect(((current["report"] as? [String: Any])?["medicalService"] as? [String: Any])?["emergencyVisits"] as? Int == 260)
            let versions = try #require(view["versions"] as? [[String: Any]])
            #expect(versions.map { $0["state"] as? String } == ["superseded", "current"])
            #expect(versions[1]["correctionReason"] as? String == "急诊人次漏报 10 人次")
        }
    }

    @Test(arguments: TestEngine.available)
    func afterTheLockDateACorrectionWaitsForADistrictReporter(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let clock = Self.clock()
        try await withTestApp(engine, demo: true, clock: clock.clock, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let campusReporter = try await client.signIn(try accounts.staff("reporter.pudong-people"), at: clock.clock.now)
            let districtReporter = try await client.signIn(try accounts.staff("reporter.pudong"), at: clock.clock.now)
            let outsider = try await client.signIn(try accounts.staff("reporter.ruijin"), at: clock.clock.now)
            let campus = try Self.campus(accounts, "reporter.pudong-people")
            let old = Self.reportDay - 5
            let uri = "/api/v1/reports/\(campus)/\(old)"
            let first = try await client.send(.put, uri, token: campusReporter.access, json: Self.report())
            #expect(first.status == .created)
            #expect(try ((first.json()["findings"] as? [[String: Any]]) ?? []).contains { $0["rule"] as? String == "late" })

            var corrected = Self.report(emergency: 300)
            corrected["correctionReason"] = "急诊数据更正"
            let pending = try await client.send(.put, uri, token: campusReporter.access, json: corrected)
            #expect(pending.status == .accepted)
            #expect(try pending.json()["status"] as? String == "pending_approval")
            #expect(
                try (try await client.get(uri, token: campusReporter.access)).json()["current"].flatMap { ($0 as? [String: Any])?["version"] as? Int }
                    == 1
            )

            let selfApproval = try await client.send(.post, "\(uri)/versions/2/approve", token: campusReporter.access)
            #expect(try selfApproval.apiError().code == "forbidden_scope")
            let foreign = try await client.send(.post, "\(uri)/versions/2/approve", token: outsider.access)
            #expect(try foreign.apiError().code == "forbidden_scope")
            let approved = try await client.send(.post, "\(uri)/versions/2/approve", token: districtReporter.access)
            #expect(approved.status == .ok, "\(String(buffer: approved.body))")
            let view = try (try await client.get(uri, token: districtReporter.access)).json()
            #expect((view["current"] as? [String: Any])?["version"] as? Int == 2)
            #expect((view["current"] as? [String: Any])?["late"] as? Bool == true, "timeliness stays with the first version")
            #expect(try approved.json()["version"] as? Int == 2)
            let again = try await client.send(.post, "\(uri)/versions/2/approve", token: districtReporter.access)
            #expect(try again.apiError().code == "version_not_pending")
            let declineUnknown = try await client.send(.post, "\(uri)/versions/77/decline", token: districtReporter.access)
            #expect(try declineUnknown.apiError().code == "version_not_pending")
        }
    }

    @Test(arguments: TestEngine.available)
    func qualityDashboardsFollowTheScopes(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let clock = Self.clock()
        try await withTestApp(engine, demo: true, clock: clock.clock, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let pudongReporter = try await client.signIn(try accounts.staff("reporter.pudong"), at: clock.clock.now)
            let ruijinReporter = try await client.signIn(try accounts.staff("reporter.ruijin"), at: clock.clock.now)
            let pudongLeader = try await client.signIn(try accounts.staff("leader.pudong"), at: clock.clock.now)
            let ruijinLeader = try await client.signIn(try accounts.staff("leader.ruijin"), at: clock.clock.now)
            let pudongCampus = try Self.campus(accounts, "reporter.pudong-people")
            let ruijin = try Self.campus(accounts, "reporter.ruijin")

            // A batch by the district reporter: one clean, one with a warning, one broken, one outside the district.
            let batch = try await client.send(
                .post,
                "/api/v1/reports:batch",
                token: pudongReporter.access,
                json: [
                    "reports": [
                        ["campusId": pudongCampus, "date": "\(Self.reportDay)", "report": Self.report()],
                        ["campusId": pudongCampus + 1, "date": "\(Self.reportDay)", "report": Self.report(positives: 121)],
                        ["campusId": pudongCampus + 2, "date": "\(Self.reportDay)", "report": Self.report(bedsOccupied: 99)],
                        ["campusId": ruijin, "date": "\(Self.reportDay)", "report": Self.report()],
                        ["campusId": "x", "date": "\(Self.reportDay)", "report": Self.report()],
                    ]
                ]
            )
            #expect(batch.status == .ok)
            let statuses = try #require(try batch.json()["results"] as? [[String: Any]]).map { $0["status"] as? String }
            #expect(statuses == ["accepted", "accepted_with_warnings", "rejected", "forbidden", "invalid"])

            let summary = try await client.get("/api/v1/qc/summary?scope=district:310115&date=\(Self.reportDay)", token: pudongLeader.access)
            #expect(summary.status == .ok, "\(String(buffer: summary.body))")
            let body = try summary.json()
            let expected = try #require(body["expected"] as? Int)
            #expect(expected > 50)
            #expect(body["received"] as? Int == 2)
            #expect(body["onTime"] as? Int == 2)
            #expect(body["withWarnings"] as? Int == 1)
            #expect(body["withErrors"] as? Int == 1)
            #expect(abs((body["completenessRate"] as? Double ?? 0) - 2.0 / Double(expected)) < 0.0001)
            #expect(((body["missing"] as? [[String: Any]]) ?? []).count == min(200, expected - 2))

            let findings = try await client.get(
                "/api/v1/qc/findings?scope=district:310115&from=\(Self.reportDay)&to=\(Self.reportDay)",
                token: pudongLeader.access
            )
            let list = try #require(try findings.json()["findings"] as? [[String: Any]])
            #expect(list.contains { $0["rule"] as? String == "fever_positives_within_visits" && $0["campusId"] as? Int == pudongCampus + 1 })

            // Scopes: a district sees its own hospitals only; a hospital only itself.
            #expect(
                try (try await client.get("/api/v1/qc/summary?scope=district:310101&date=\(Self.reportDay)", token: pudongLeader.access)).apiError()
                    .code == "forbidden_scope"
            )
            #expect(
                try (try await client.get("/api/v1/qc/summary?scope=campus:\(ruijin)&date=\(Self.reportDay)", token: ruijinLeader.access)).status
                    == .ok
            )
            #expect(
                try (try await client.get("/api/v1/qc/summary?scope=district:310101&date=\(Self.reportDay)", token: ruijinLeader.access)).apiError()
                    .code == "forbidden_scope"
            )
            #expect(
                try
                    (try await client.send(
                        .put,
                        "/api/v1/reports/\(pudongCampus)/\(Self.reportDay)",
                        token: ruijinReporter.access,
                        json: Self.report()
                    )).apiError().code == "forbidden_scope"
            )
            #expect(
                try (try await client.get("/api/v1/reports/\(ruijin)/\(Self.reportDay)", token: pudongLeader.access)).apiError().code
                    == "forbidden_scope"
            )
        }
    }

    @Test func futureDatesAndBadPathsAreClearErrors() async throws {
        let directory = scratchDirectory()
        let clock = Self.clock()
        try await withTestApp(.sqlite, demo: true, clock: clock.clock, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let reporter = try await client.signIn(try accounts.staff("reporter.ruijin"), at: clock.clock.now)
            let campus = try Self.campus(accounts, "reporter.ruijin")
            let future = try await client.send(.put, "/api/v1/reports/\(campus)/\(Self.reportDay + 2)", token: reporter.access, json: Self.report())
            #expect(future.status == .unprocessableContent)
            #expect(try ((future.json()["findings"] as? [[String: Any]]) ?? []).contains { $0["rule"] as? String == "date_not_in_future" })
            let badDate = try await client.send(.put, "/api/v1/reports/\(campus)/2026-02-30", token: reporter.access, json: Self.report())
            #expect(try badDate.apiError().field == "date")
            let notJSON = try await client.execute(
                uri: "/api/v1/reports/\(campus)/\(Self.reportDay)",
                method: .put,
                headers: [.authorization: "Bearer \(reporter.access)"],
                body: ByteBuffer(string: "{\"icu\":")
            ) { $0 }
            #expect(try notJSON.apiError().code == "invalid_json")
            let catalog = try await client.get("/api/v1/catalog", token: nil)
            #expect(((try catalog.json()["items"] as? [Any]) ?? []).count == 16)
        }
    }

    @Test func administratorsTuneTheRuleTableAndItIsValidated() async throws {
        let directory = scratchDirectory()
        let clock = Self.clock()
        try await withTestApp(.sqlite, demo: true, clock: clock.clock, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let admin = try await client.signIn(try accounts.staff("admin"), at: clock.clock.now)
            let reporter = try await client.signIn(try accounts.staff("reporter.ruijin"), at: clock.clock.now)
            var table = try (try await client.get("/api/v1/admin/qc-rules", token: admin.access)).json()
            var rules = try #require(table["rules"] as? [[String: Any]])
            let index = try #require(rules.firstIndex { $0["id"] as? String == "icu_beds_occupied_within_total" })
            rules[index]["severity"] = "warning"
            table["rules"] = rules
            table["lockAfterDays"] = 500
            let invalid = try await client.send(.put, "/api/v1/admin/qc-rules", token: admin.access, json: table)
            #expect(invalid.status == .unprocessableContent)
            #expect(try invalid.apiError().code == "invalid_rule_table")
            #expect(try invalid.apiError().field == "lockAfterDays")
            table["lockAfterDays"] = 3
            let saved = try await client.send(.put, "/api/v1/admin/qc-rules", token: admin.access, json: table)
            #expect(saved.status == .ok)
            #expect(try saved.json()["version"] as? Int == 2)
            // The same over-full ICU is now accepted with a warning.
            let campus = try Self.campus(accounts, "reporter.ruijin")
            let answer = try await client.send(
                .put,
                "/api/v1/reports/\(campus)/\(Self.reportDay)",
                token: reporter.access,
                json: Self.report(bedsOccupied: 41)
            )
            #expect(try answer.json()["status"] as? String == "accepted_with_warnings")
            #expect(try (try await client.get("/api/v1/admin/qc-rules", token: reporter.access)).apiError().code == "forbidden_role")
        }
    }
}

@Suite struct SystemCredentialTests {
    @Test(arguments: TestEngine.available)
    func aHospitalSystemReportsForItsCampusOnlyUntilRevoked(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let clock = ReportingTests.clock()
        try await withTestApp(engine, demo: true, clock: clock.clock, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let admin = try await client.signIn(try accounts.staff("admin.pudong"), at: clock.clock.now)
            let campus = try ReportingTests.campus(accounts, "reporter.pudong-people")
            let ruijin = try ReportingTests.campus(accounts, "reporter.ruijin")
            let outside = try await client.send(
                .post,
                "/api/v1/admin/system-credentials",
                token: admin.access,
                json: ["campusId": ruijin, "name": "HIS"]
            )
            #expect(try outside.apiError().code == "forbidden_scope")
            let issued = try await client.send(
                .post,
                "/api/v1/admin/system-credentials",
                token: admin.access,
                json: ["campusId": campus, "name": "东软 HIS 直报接口"]
            )
            #expect(issued.status == .created)
            let token = try #require(try issued.json()["token"] as? String)
            let accountId = try #require(try issued.json()["accountId"] as? Int)
            #expect(token.hasPrefix("hcs_"))

            let put = try await client.send(
                .put,
                "/api/v1/reports/\(campus)/\(ReportingTests.reportDay)",
                token: token,
                json: ReportingTests.report()
            )
            #expect(put.status == .created)
            let foreign = try await client.send(
                .put,
                "/api/v1/reports/\(ruijin)/\(ReportingTests.reportDay)",
                token: token,
                json: ReportingTests.report()
            )
            #expect(try foreign.apiError().code == "forbidden_scope")
            // A system credential cannot sign in interactively.
            let username = try #require(try issued.json()["username"] as? String)
            let login = try await client.send(.post, "/api/v1/auth/staff/login", json: ["username": username, "password": "!system-credential"])
            #expect(login.status == .unauthorized)

            #expect(try await client.send(.delete, "/api/v1/admin/system-credentials/\(accountId)", token: admin.access).status == .noContent)
            let after = try await client.send(
                .put,
                "/api/v1/reports/\(campus)/\(ReportingTests.reportDay - 1)",
                token: token,
                json: ReportingTests.report()
            )
            #expect(after.status == .unauthorized)
        }
    }

    /// Five different errors in one report over HTTP: all five come back, each with its field.
    @Test func fiveErrorsComeBackTogether() async throws {
        let directory = scratchDirectory()
        let clock = ReportingTests.clock()
        try await withTestApp(.sqlite, demo: true, clock: clock.clock, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let reporter = try await client.signIn(try accounts.staff("reporter.ruijin"), at: clock.clock.now)
            let campus = try ReportingTests.campus(accounts, "reporter.ruijin")
            var report = ReportingTests.report(bedsOccupied: 45)
            report["vaccination"] = ["doses": 60, "firstDoses": 10, "boosterDoses": 40, "dosesAge60Plus": 61]
            var service = report["medicalService"] as! [String: Any]
            service["surgeries"] = -2
            report["medicalService"] = service
            var testing = report["nucleicAcid"] as! [String: Any]
            testing["positives"] = 900
            report["nucleicAcid"] = testing
            report["materials"] = [["code": "N95", "stock": "many", "consumed": 1]]
            let answer = try await client.send(.put, "/api/v1/reports/\(campus)/\(ReportingTests.reportDay)", token: reporter.access, json: report)
            #expect(answer.status == .unprocessableContent)
            let findings = try #require(try answer.json()["findings"] as? [[String: Any]]).filter { $0["severity"] as? String == "error" }
            #expect(
                Set(findings.compactMap { $0["field"] as? String }) == [
                    "icu.bedsOccupied", "vaccination.dosesAge60Plus", "medicalService.surgeries",
                    "nucleicAcid.positives", "materials[0].stock",
                ]
            )
            #expect(try answer.apiError().code == "report_rejected")
        }
    }
}
