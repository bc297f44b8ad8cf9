import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudTestSupport
import HummingbirdTesting
import NIOCore
import Testing

/// The cockpit and warnings over HTTP with three weeks of demo reports, on both engines:
/// the compact home payload and its caching headers, the scope rules of each leader,
/// columnar trends and rankings, the warning lifecycle by hand, and the admin rule table.
@Suite struct CockpitTests {
    static let pipeline = DemoPipeline(steps: [OrganisationsStep(), AccountsStep(), CatalogStep(), ReportHistoryStep(days: 21)])

    static func array(_ value: Any?) -> [Any] { value as? [Any] ?? [] }

    @Test(arguments: TestEngine.available)
    func theCockpitServesEachLeaderTheirScope(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            let pudong = try await client.signIn(try accounts.staff("leader.pudong")).access
            let ruijinLeader = try accounts.staff("leader.ruijin")
            let ruijin = try await client.signIn(ruijinLeader).access
            let reporter = try await client.signIn(try accounts.staff("reporter.ruijin")).access
            let ruijinScope = ruijinLeader.scope

            // The city's home: compact, seven domains, ranking of districts, validators.
            let home = try await client.get("/api/v1/cockpit?scope=city", token: city)
            #expect(home.status == .ok, "\(String(buffer: home.body))")
            #expect(home.body.readableBytes <= 8 * 1024, "home payload \(home.body.readableBytes) bytes")
            #expect(home.headers[.cacheControl]?.contains("private") == true)
            let etag = try #require(home.headers[.eTag])
            #expect(etag.hasPrefix("\"") && !etag.hasPrefix("W/"), "a strong validator")
            let payload = try home.json()
            let domains = Self.array(payload["domains"]).compactMap { $0 as? [String: Any] }
            #expect(
                domains.map { $0["id"] as? String } == ["icu", "feverClinic", "drugs", "materials", "vaccination", "nucleicAcid", "medicalService"]
            )
            for domain in domains {
                let figures = Self.array(domain["figures"]).compactMap { $0 as? [String: Any] }
                #expect(!figures.isEmpty, "\(domain["id"] ?? "?") has figures")
                for figure in figures {
                    #expect(Self.array(figure["spark"]).count == 7)
                    #expect(figure["value"] is NSNumber, "\(figure["metric"] ?? "?") has a value")
                }
            }
            let ranking = try #require(payload["ranking"] as? [String: Any])
            #expect(ranking["level"] as? String == "district")
            #expect(Self.array(ranking["top"]).count == 3 && Self.array(ranking["bottom"]).count == 3)
            let reporting = try #require(payload["reporting"] as? [String: Any])
            #expect(reporting["expected"] as? Int == 364)
            #expect((reporting["reported"] as? Int ?? 0) > 300)

            // Revalidation: the same tag (strong or weak form) is 304 with no body; another is 200.
            for condition in [etag, "W/\(etag)", "\"other\", \(etag)"] {
                let again = try await client.execute(
                    uri: "/api/v1/cockpit?scope=city",
                    method: .get,
                    headers: [.authorization: "Bearer \(city)", .ifNoneMatch: condition]
                ) { $0 }
                #expect(again.status == .notModified && again.body.readableBytes == 0, "If-None-Match: \(condition)")
                #expect(again.headers[.eTag] == etag)
            }
            let changed = try await client.execute(
                uri: "/api/v1/cockpit?scope=city",
                method: .get,
                headers: [.authorization: "Bearer \(city)", .ifNoneMatch: "\"stale\""]
            ) { $0 }
            #expect(changed.status == .ok)

            // gzip when asked: a gzip stream, smaller, with its own tag.
            let zipped = try await client.execute(
                uri: "/api/v1/cockpit?scope=city",
                method: .get,
                headers: [.authorization: "Bearer \(city)", .acceptEncoding: "br;q=1, gzip;q=0.8"]
            ) { $0 }
            #expect(zipped.headers[.contentEncoding] == "gzip")
            #expect(Array(zipped.body.readableBytesView.prefix(2)) == [0x1f, 0x8b])
            #expect(zipped.body.readableBytes < home.body.readableBytes / 2)
            #expect(zipped.headers[.eTag] != etag)
            let refused = try await client.execute(
                uri: "/api/v1/cockpit?scope=city",
                method: .get,
                headers: [.authorization: "Bearer \(city)", .acceptEncoding: "gzip;q=0"]
            ) { $0 }
            #expect(refused.headers[.contentEncoding] == nil)

            // A district leader: its district (the default scope) and its hospitals; nothing else.
            let own = try await client.get("/api/v1/cockpit", token: pudong)
            #expect(try own.json()["scope"] as? String == "district:310115")
            let pudongRanking = try #require(try own.json()["ranking"] as? [String: Any])
            #expect(pudongRanking["level"] as? String == "campus")
            let pudongCampus = try #require((Self.array(pudongRanking["top"]).first as? [String: Any])?["scope"] as? String)
            #expect(pudongCampus.hasPrefix("campus:"))
            #expect(try await client.get("/api/v1/cockpit?scope=\(pudongCampus)", token: pudong).status == .ok)
            for foreign in ["city", "district:310101", ruijinScope] {
                let answer = try await client.get("/api/v1/cockpit?scope=\(foreign)", token: pudong)
                #expect(answer.status == .forbidden && (try? answer.apiError().code) == "forbidden_scope", "district leader at \(foreign)")
            }
            // A hospital leader: only that hospital.
            let hospital = try await client.get("/api/v1/cockpit", token: ruijin)
            #expect(try hospital.status == .ok && (try hospital.json()["scope"] as? String) == ruijinScope)
            #expect(try (try hospital.json()["ranking"]) is NSNull, "a campus has nothing below it to rank")
            for foreign in ["city", "district:310101", pudongCampus] {
                let answer = try await client.get("/api/v1/cockpit?scope=\(foreign)", token: ruijin)
                #expect(answer.status == .forbidden && (try? answer.apiError().code) == "forbidden_scope", "hospital leader at \(foreign)")
            }
            #expect(try await client.get("/api/v1/cockpit?scope=city", token: reporter).apiError().code == "forbidden_role")
            let institution = try await client.get("/api/v1/cockpit?scope=institution:1", token: city)
            #expect(try institution.status == .badRequest && (try institution.apiError().field) == "scope")

            // Trend: columnar, daily / weekly / monthly, bounded.
            let yesterday = Day(shanghaiTimeOf: Int64(TestClock.now.timeIntervalSince1970)) - 1
            let from = yesterday - 364
            let trend = try await client.get("/api/v1/cockpit/trend?scope=city&metric=icu.occupancyRate&from=\(from)&to=\(yesterday)", token: city)
            #expect(trend.status == .ok, "\(String(buffer: trend.body))")
            let series = try trend.json()
            #expect(Self.array(series["dates"]).count == 365 && Self.array(series["values"]).count == 365)
            #expect(Self.array(series["values"]).suffix(20).allSatisfy { $0 is NSNumber }, "the last 20 days hold data")
            #expect(Self.array(series["values"]).prefix(300).allSatisfy { $0 is NSNull }, "no data before the history")
            let weekly = try await client.get(
                "/api/v1/cockpit/trend?scope=city&metric=feverClinic.visits&from=\(from)&to=\(yesterday)&bucket=week",
                token: city
            )
            let weeks = Self.array(try weekly.json()["dates"]).compactMap { $0 as? String }.compactMap(Day.init)
            #expect((53...54).contains(weeks.count) && weeks.dropFirst().allSatisfy { ($0.number + 3) % 7 == 0 }, "weeks start on Monday")
            let monthly = try await client.get("/api/v1/cockpit/trend?scope=\(ruijinScope)&metric=drugs.minDaysOfSupply&bucket=month", token: ruijin)
            #expect(try monthly.status == .ok && Self.array(try monthly.json()["dates"]).allSatisfy { ($0 as? String)?.hasSuffix("-01") == true })
            for wrong in ["materials.daysOfSupply.PAXLOVID", "drugs..daysOfSupply.PAXLOVID", "drugs.daysOfSupply.NOPE"] {
                let answer = try await client.get("/api/v1/cockpit/trend?scope=city&metric=\(wrong)", token: city)
                #expect(try answer.status == .badRequest && (try answer.apiError().field) == "metric", "\(wrong)")
            }
            let future = try await client.get("/api/v1/cockpit/trend?scope=city&metric=icu.bedsTotal&to=2999-01-01", token: city)
            #expect(try future.status == .badRequest && (try future.apiError().field) == "to")
            let unknown = try await client.get("/api/v1/cockpit/trend?scope=city&metric=icu.nothing", token: city)
            #expect(try unknown.status == .badRequest && (try unknown.apiError().field) == "metric")
            let tooLong = try await client.get(
                "/api/v1/cockpit/trend?scope=city&metric=icu.bedsTotal&from=\(yesterday - 800)&to=\(yesterday)",
                token: city
            )
            #expect(try tooLong.status == .badRequest && (try tooLong.apiError().field) == "from")

            // Ranking: every campus of the city, highest first.
            let ranked = try await client.get("/api/v1/cockpit/ranking?scope=city&level=campus&metric=icu.occupancyRate", token: city)
            #expect(ranked.status == .ok)
            let rankedBody = try ranked.json()
            #expect(Self.array(rankedBody["scopes"]).count == 364 && Self.array(rankedBody["names"]).count == 364)
            let values = Self.array(rankedBody["values"]).compactMap { ($0 as? NSNumber)?.doubleValue }
            #expect(values.count > 100 && values == values.sorted(by: >))
            let districtRanking = try await client.get("/api/v1/cockpit/ranking?scope=district:310115&metric=drugs.minDaysOfSupply", token: pudong)
            #expect(try Self.array(try districtRanking.json()["scopes"]).allSatisfy { ($0 as? String)?.hasPrefix("campus:") == true })

            // A red ICU warning for Ruijin, raised by today's first report (a full ICU).
            let ruijinId = try #require(Int(ruijinScope.split(separator: ":")[1]))
            try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                let body = JSONValue.object([
                    "icu": .object([
                        "bedsTotal": .integer(20), "bedsOccupied": .integer(20), "convertibleBeds": .integer(0),
                        "ventilatorsTotal": .integer(4), "ventilatorsInUse": .integer(2),
                    ])
                ])
                let result = try await database.ingestion.ingest(
                    [
                        ReportSubmission(
                            campusId: ruijinId,
                            date: yesterday + 1,
                            body: body,
                            correctionReason: nil,
                            submittedBy: nil,
                            submittedAt: Int64(TestClock.now.timeIntervalSince1970)
                        )
                    ],
                    today: yesterday + 1
                )
                guard case .accepted = result[0] else {
                    Issue.record("today's report: \(result)")
                    return
                }
            }
            let listed = try await client.get("/api/v1/warnings?scope=\(ruijinScope)", token: ruijin)
            let warnings = Self.array(try listed.json()["warnings"]).compactMap { $0 as? [String: Any] }
            let icuWarning = try #require(warnings.first { $0["ruleId"] as? String == "icu_occupancy" && $0["scope"] as? String == ruijinScope })
            #expect(icuWarning["level"] as? String == "red" && icuWarning["status"] as? String == "open")
            let id = try #require(icuWarning["id"] as? Int)
            // Someone else's district may not acknowledge it; the note is required; then it is acknowledged once.
            let foreignAck = try await client.send(.post, "/api/v1/warnings/\(id)/ack", token: pudong, json: ["note": "not mine"])
            #expect(try foreignAck.status == .forbidden && (try foreignAck.apiError().code) == "forbidden_scope")
            let noNote = try await client.send(.post, "/api/v1/warnings/\(id)/ack", token: ruijin, json: ["note": "  "])
            #expect(try noNote.status == .badRequest && (try noNote.apiError().field) == "note")
            let acked = try await client.send(.post, "/api/v1/warnings/\(id)/ack", token: ruijin, json: ["note": "两张备用床位已启用"])
            #expect(try acked.status == .ok && (try acked.json()["status"] as? String) == "acknowledged")
            #expect(try acked.json()["acknowledgementNote"] as? String == "两张备用床位已启用")
            let twice = try await client.send(.post, "/api/v1/warnings/\(id)/ack", token: ruijin, json: ["note": "again"])
            #expect(try twice.status == .conflict && (try twice.apiError().code) == "already_acknowledged")
            // The hospital's home shows the open count without the acknowledged one's "open" status.
            let after = try await client.get("/api/v1/cockpit?scope=\(ruijinScope)", token: ruijin)
            let items = Self.array((try after.json()["warnings"] as? [String: Any])?["items"]).compactMap { $0 as? [String: Any] }
            #expect(items.contains { $0["id"] as? Int == id && $0["status"] as? String == "acknowledged" })
            let detail = try await client.get("/api/v1/warnings/\(id)", token: city)
            #expect(
                try Self.array(try detail.json()["events"]).compactMap { ($0 as? [String: Any])?["kind"] as? String }.suffix(1) == ["acknowledged"]
            )
            let resolved = try await client.send(.post, "/api/v1/warnings/\(id)/resolve", token: city, json: ["note": "病人已转出"])
            #expect(try resolved.status == .ok && (try resolved.json()["status"] as? String) == "resolved")
            let badStatus = try await client.get("/api/v1/warnings?scope=city&status=closed", token: city)
            #expect(try badStatus.status == .badRequest && (try badStatus.apiError().field) == "status")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(arguments: TestEngine.available)
    func cityAdministratorsEditTheWarningTable(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let admin = try await client.signIn(try accounts.staff("admin")).access
            let current = try await client.get("/api/v1/admin/warning-rules", token: admin)
            #expect(current.status == .ok)
            var table = try current.json()
            #expect(table["version"] as? Int == 1)
            var rules = Self.array(table["rules"]).compactMap { $0 as? [String: Any] }
            #expect(rules.count == WarningRuleTable.standard.rules.count)
            // Thresholds out of order: 422 with every problem, nothing saved.
            rules[0]["thresholds"] = ["blue": 90, "yellow": 85]
            table["rules"] = rules
            let invalid = try await client.send(.put, "/api/v1/admin/warning-rules", token: admin, json: table)
            #expect(invalid.status == .unprocessableContent)
            #expect(try invalid.apiError().code == "invalid_rule_table" && (try invalid.apiError().field) == "rules[0].thresholds.yellow")
            #expect(try await client.get("/api/v1/admin/warning-rules", token: admin).json()["version"] as? Int == 1)
            // A days-of-supply rule for an item the catalog does not list (or lists as the other kind).
            var unknownItem = rules
            unknownItem[0]["metric"] = "materials.daysOfSupply.PAXLOVID"
            unknownItem[0]["thresholds"] = ["blue": 7, "yellow": 5]
            unknownItem[0]["direction"] = "below"
            table["rules"] = unknownItem
            let notInCatalog = try await client.send(.put, "/api/v1/admin/warning-rules", token: admin, json: table)
            #expect(try notInCatalog.status == .unprocessableContent && (try notInCatalog.apiError().field) == "rules[0].metric")
            rules[0]["thresholds"] = ["blue": 70, "yellow": 80, "orange": 88, "red": 95]
            table["rules"] = rules
            let saved = try await client.send(.put, "/api/v1/admin/warning-rules", token: admin, json: table)
            #expect(try saved.status == .ok && (try saved.json()["version"] as? Int) == 2)
            let reread = try await client.get("/api/v1/admin/warning-rules", token: admin).json()
            let first = try #require(Self.array(reread["rules"]).first as? [String: Any])
            #expect((first["thresholds"] as? [String: Any])?["blue"] as? Int == 70)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
