import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudStorage
import HealthCloudTestSupport
import HummingbirdTesting
import Testing

/// What the audit log holds of refusals and of offline check-ins, on both engines.
@Suite struct AuditCoverageTests {
    static func records(_ location: DatabaseLocation) async throws -> [AuditLog.Record] {
        try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
            try await database.audit.records(after: 0, limit: 100_000)
        }
    }

    static func intact(_ location: DatabaseLocation) async throws -> Bool {
        try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
            try await database.audit.verify(publicKeys: TestDatabase.keys.verificationKeys).intact
        }
    }

    /// A patient hammering a staff route: the first refusal is a row at once, the rest of the
    /// burst one row with its count when the burst is over; the chain stays whole.
    @Test(arguments: TestEngine.available)
    func refusalsAreAuditedOneRowPerBurst(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        let time = ManualClock(TestClock.start)
        try await withTestApp(engine, demo: true, clock: time.clock, sms: sms, dataDirectory: directory) { client, location in
            let patient = try await JourneyTests.patient(client, sms: sms, phone: JourneyTests.phone(700))
            let staffRoute = "/api/v1/warnings?scope=city"
            for _ in 0..<25 {
                #expect(try await client.get(staffRoute, token: patient).status == .forbidden)
            }
            var refusals = try await Self.records(location).filter { $0.entry.action == "access_refused" }
            #expect(refusals.count == 1, "\(refusals.map(\.entry))")
            #expect(refusals.first?.entry.result == "forbidden_role" && refusals.first?.entry.target == "GET /api/v1/warnings")
            #expect(refusals.first?.entry.actorRole == "patient")

            // The burst ends; the next refusal writes its count, then opens a burst of its own.
            time.advance(by: 61)
            #expect(try await client.get(staffRoute, token: patient).status == .forbidden)
            refusals = try await Self.records(location).filter { $0.entry.action == "access_refused" }
            #expect(refusals.map(\.entry.result) == ["forbidden_role", "burst", "forbidden_role"], "\(refusals.map(\.entry))")
            #expect(refusals[1].entry.detail.hasPrefix("24 more refusals"), "\(refusals[1].entry.detail)")
            #expect(try await Self.intact(location))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// An offline upload is audited per appointment, the refused scans with their codes; a
    /// resent upload adds nothing.
    @Test(arguments: TestEngine.available)
    func offlineCheckInsAreAuditedPerAppointment(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        let time = ManualClock(TestClock.start)
        try await withTestApp(engine, demo: true, clock: time.clock, sms: sms, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let kioskAccount = try accounts.staff("kiosk.ruijin-fever")
            let site = try JourneyTests.siteId(kioskAccount.scope)
            var passes: [(id: Int, token: String)] = []
            for n in 0..<2 {
                let (_, id, token) = try await JourneyTests.booked(client, sms: sms, 710 + n, site: site, now: time.clock.now)
                passes.append((id, token))
            }
            time.advance(by: 600)
            let kiosk = try await client.signIn(kioskAccount, at: time.clock.now).access
            let scannedAt = time.clock.seconds - 60
            let batch: [String: Any] = [
                "checkins": [
                    ["token": passes[0].token, "scannedAt": scannedAt],
                    ["token": passes[1].token, "scannedAt": scannedAt],
                    ["token": passes[0].token, "scannedAt": scannedAt + 5],
                ]
            ]
            let before = try await Self.records(location).count
            #expect(try await client.send(.post, "/api/v1/checkins:batch", token: kiosk, json: batch).status == .ok)
            let rows = try await Self.records(location).dropFirst(before).filter { $0.entry.action == "checkin_offline" }
            #expect(rows.map(\.entry.target) == ["appointment:\(passes[0].id)", "appointment:\(passes[1].id)", "appointment:\(passes[0].id)"])
            #expect(rows.map(\.entry.result) == ["success", "success", "pass_already_used"])
            // Resent: answered from the record, nothing more audited.
            let count = try await Self.records(location).count
            #expect(try await client.send(.post, "/api/v1/checkins:batch", token: kiosk, json: batch).status == .ok)
            #expect(try await Self.records(location).filter { $0.entry.action == "checkin_offline" }.count == rows.count)
            #expect(try await Self.records(location).count == count)
            #expect(try await Self.intact(location))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
