import Foundation
import HTTPTypes
import HealthCloudCrypto
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import HealthCloudTestSupport
import HummingbirdTesting
import NIOCore
import Testing

@testable import HealthCloudApp

/// The patient journey over HTTP on both engines: pre-check → triage → booking → pass →
/// kiosk check-in → grading → notifications, the check-in refusals, and booking under load.
@Suite struct JourneyTests {
    /// A feverish adult without exposure or risk group: fever clinic (high fever).
    nonisolated(unsafe) static let feverAnswers: [String: Any] = [
        "temperature": 38.6, "feverDays": 1, "cough": true, "soreThroat": false, "dyspnoea": false, "lossOfSmellTaste": false,
        "contactWithCase": false, "riskAreaStay": false, "cluster": "none", "age": 34, "pregnant": false, "immunosuppressed": false,
    ]

    /// A patient signed in by phone code (a new account for a new number).
    static func patient(_ client: any TestClientProtocol, sms: DevSMSSink, phone: String) async throws -> String {
        let sent = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": phone])
        #expect(sent.status == .ok || sent.status == .accepted, "\(String(buffer: sent.body))")
        let code = String(try #require(sms.messages(to: phone).first?.text.firstMatch(of: /\d{6}/)).output)
        let login = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": phone, "code": code])
        return try #require(try login.json()["accessToken"] as? String, "\(String(buffer: login.body))")
    }

    static func phone(_ n: Int) -> String { "139" + String(format: "%08d", 10_000_000 + n).suffix(8) }

    static func precheck(
        _ client: any TestClientProtocol,
        token: String,
        answers: [String: Any] = feverAnswers,
        location: [String: Double]? = nil
    ) async throws -> [String: Any] {
        var body: [String: Any] = ["questionnaireVersion": 1, "answers": answers]
        if let location { body["location"] = location }
        let response = try await client.send(.post, "/api/v1/prechecks", token: token, json: body)
        #expect(response.status == .created, "\(String(buffer: response.body))")
        return try response.json()
    }

    /// The slot of `site` whose window holds `now` (fever clinics are open around the clock), or the same hour `days` later.
    static func slot(_ client: any TestClientProtocol, site: Int, now: Date, days: Int = 0) async throws -> Int {
        let day = Day(shanghaiTimeOf: Int64(now.timeIntervalSince1970)) + days
        let response = try await client.get("/api/v1/sites/\(site)/slots?date=\(day)", token: nil)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        let slots = try #require(try response.json()["slots"] as? [[String: Any]])
        let at = Int64(now.timeIntervalSince1970) + Int64(days) * 86_400
        let slot = try #require(slots.first { ($0["startsAt"] as! Int) <= at && at < ($0["endsAt"] as! Int) })
        return slot["id"] as! Int
    }

    static func book(_ client: any TestClientProtocol, token: String, slot: Int, precheck: Int) async throws -> TestResponse {
        try await client.send(.post, "/api/v1/appointments", token: token, json: ["slotId": slot, "precheckId": precheck])
    }

    static func siteId(_ scope: String) throws -> Int { try #require(Int(scope.split(separator: ":")[1])) }

    /// A new patient (phone `n`) with a fever-clinic pre-check and a booking at `site` in the
    /// window holding `now` (or `days` later): (patient token, appointment id, pass token).
    static func booked(
        _ client: any TestClientProtocol,
        sms: DevSMSSink,
        _ n: Int,
        site: Int,
        now: Date,
        days: Int = 0
    ) async throws -> (String, Int, String) {
        let patient = try await patient(client, sms: sms, phone: phone(n))
        let precheck = try await precheck(client, token: patient)["id"] as! Int
        let slot = try await slot(client, site: site, now: now, days: days)
        let booking = try await book(client, token: patient, slot: slot, precheck: precheck)
        #expect(booking.status == .created, "\(String(buffer: booking.body))")
        let appointment = try #require(try booking.json()["id"] as? Int)
        let pass = try await client.get("/api/v1/appointments/\(appointment)/pass", token: patient).json()["token"] as! String
        return (patient, appointment, pass)
    }

    @Test(arguments: TestEngine.available)
    func theWholeJourneyFromPreCheckToGrading(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, sms: sms, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let kioskAccount = try accounts.staff("kiosk.ruijin-fever")
            let site = try Self.siteId(kioskAccount.scope)

            // The questionnaire, native and as FHIR.
            let questionnaire = try await client.get("/api/v1/precheck/questionnaire", token: nil).json()
            #expect(questionnaire["version"] as? Int == 1)
            let items = try #require(questionnaire["items"] as? [[String: Any]])
            #expect(Set(items.compactMap { $0["linkId"] as? String }).isSuperset(of: ["temperature", "contactWithCase", "age", "guardianPresent"]))
            let fhir = try await client.get("/api/v1/precheck/questionnaire?format=fhir", token: nil)
            #expect(fhir.headers[.contentType] == "application/fhir+json")
            #expect(try fhir.json()["resourceType"] as? String == "Questionnaire")

            // Pre-check with a location next to Ruijin: a fever clinic, the nearest first.
            let patient = try await Self.patient(client, sms: sms, phone: Self.phone(1))
            let triage = try await Self.precheck(client, token: patient, location: ["lat": 31.2118, "lng": 121.4706])
            #expect(triage["level"] as? String == "fever_clinic")
            #expect((triage["reasons"] as? [[String: Any]])?.first?["rule"] as? String == "high-fever")
            let recommended = try #require(triage["recommendedSites"] as? [[String: Any]])
            #expect(recommended.count == 5 && recommended.allSatisfy { $0["kind"] as? String == "fever_clinic" })
            let distances = recommended.compactMap { $0["distanceKm"] as? Double }
            #expect(distances.count == 5 && distances == distances.sorted(), "ranked by distance: \(distances)")
            #expect(recommended.first?["id"] as? Int == site, "Ruijin's own fever clinic is the nearest")
            #expect((recommended.first?["freeSlotsToday"] as? Int ?? 0) > 0)
            let precheckId = try #require(triage["id"] as? Int)

            // Book the current window at the kiosk's clinic; a second booking that day is refused.
            let slot = try await Self.slot(client, site: site, now: TestClock.now)
            let booked = try await Self.book(client, token: patient, slot: slot, precheck: precheckId)
            #expect(booked.status == .created, "\(String(buffer: booked.body))")
            let appointment = try #require(try booked.json()["id"] as? Int)
            let again = try await Self.book(client, token: patient, slot: slot, precheck: precheckId)
            #expect(try again.status == .conflict && again.apiError().code == "appointment_exists")
            let slots = try await client.get("/api/v1/sites/\(site)/slots", token: nil).json()["slots"] as? [[String: Any]]
            #expect(slots?.first { $0["id"] as? Int == slot }?["booked"] as? Int == 1)

            // The pass: a visit token with no personal data, as JSON, SVG and PNG.
            let pass = try await client.get("/api/v1/appointments/\(appointment)/pass", token: patient)
            #expect(pass.status == .ok && pass.headers[.cacheControl] == "private, no-store")
            let token = try #require(try pass.json()["token"] as? String)
            let claims = try SignedToken.verify(token, publicKeys: TestDatabase.keys.verificationKeys, now: TestClock.now, expectedType: "visit")
            #expect(claims["apt"] as? Int == appointment && claims["site"] as? Int == site && (claims["jti"] as? String)?.isEmpty == false)
            #expect(Set(claims.keys) == ["kid", "typ", "iat", "nbf", "exp", "jti", "apt", "site"], "nothing personal in the pass")
            let svg = try await client.get("/api/v1/appointments/\(appointment)/pass.svg", token: patient)
            #expect(svg.headers[.contentType] == "image/svg+xml" && String(buffer: svg.body).hasPrefix("<svg"))
            let png = try await client.get("/api/v1/appointments/\(appointment)/pass.png?scale=4", token: patient)
            #expect(png.headers[.contentType] == "image/png" && Array(png.body.readableBytesView.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
            // Another patient cannot see it.
            let stranger = try await Self.patient(client, sms: sms, phone: Self.phone(2))
            #expect(try await client.get("/api/v1/appointments/\(appointment)/pass", token: stranger).apiError().code == "forbidden_scope")

            // The kiosk checks the pass in: a queue number; the doctor sees the patient masked.
            let kiosk = try await client.signIn(kioskAccount).access
            let checkIn = try await client.send(.post, "/api/v1/checkins", token: kiosk, json: ["token": token])
            #expect(checkIn.status == .ok, "\(String(buffer: checkIn.body))")
            #expect(try checkIn.json()["queueNumber"] as? Int == 1)
            let doctor = try await client.signIn(try accounts.staff("doctor.ruijin")).access
            let queue = try await client.get("/api/v1/sites/\(site)/queue", token: doctor).json()["patients"] as? [[String: Any]]
            #expect(queue?.count == 1 && queue?.first?["appointmentId"] as? Int == appointment && queue?.first?["level"] as? String == "fever_clinic")

            // Grading, twice: the history keeps both; a doctor of another campus may not.
            let mild = try await client.send(
                .post,
                "/api/v1/appointments/\(appointment)/grading",
                token: doctor,
                json: ["grade": "mild", "note": "低热，咳嗽"]
            )
            #expect(mild.status == .created, "\(String(buffer: mild.body))")
            #expect(try mild.json()["routing"] as? String == "home_isolation" && mild.json()["followUpDays"] as? Int == 2)
            let moderate = try await client.send(.post, "/api/v1/appointments/\(appointment)/grading", token: doctor, json: ["grade": "moderate"])
            #expect(try moderate.json()["routing"] as? String == "district_hospital")
            #expect((try moderate.json()["history"] as? [[String: Any]])?.map { $0["grade"] as? String } == ["mild", "moderate"])
            let otherDoctor = try await client.signIn(try accounts.staff("doctor.phc")).access
            let refused = try await client.send(.post, "/api/v1/appointments/\(appointment)/grading", token: otherDoctor, json: ["grade": "severe"])
            #expect(try refused.status == .forbidden && refused.apiError().code == "forbidden_scope")
            let bad = try await client.send(.post, "/api/v1/appointments/\(appointment)/grading", token: doctor, json: ["grade": "grave"])
            #expect(try bad.status == .badRequest && bad.apiError().field == "grade")

            // The phone syncs: the pre-check, the appointment as graded, the pass, the notifications.
            let synced = try await SyncTests.pullAll(client, token: patient, clientId: "phone-journey-1")
            #expect(synced.records["prechecks"]?[String(precheckId)] != nil)
            guard case .object(let record)? = synced.records["appointments"]?[String(appointment)] else {
                Issue.record("no appointments record")
                return
            }
            #expect(record["status"] == .string("checked_in") && record["grade"] == .string("moderate") && record["queueNumber"] == .integer(1))
            #expect(SyncTests.string(synced.records["visitPasses"]?[String(appointment)], "token") == token)
            let kinds = Set((synced.records["notifications"] ?? [:]).values.compactMap { SyncTests.string($0, "kind") })
            #expect(kinds.isSuperset(of: ["welcome", "booking", "checkin", "grading"]), "\(kinds)")
            // The stranger's phone sees none of it.
            let strangers = try await SyncTests.pullAll(client, token: stranger, clientId: "phone-journey-2")
            #expect(strangers.records["appointments"] == nil && strangers.records["visitPasses"] == nil)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(arguments: TestEngine.available)
    func answersAreValidatedItemByItemAndTriageSendsEachLevelToItsDoor(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, sms: sms, dataDirectory: directory) { client in
            let patient = try await Self.patient(client, sms: sms, phone: Self.phone(10))
            var wrong = Self.feverAnswers
            wrong["temperature"] = 47
            wrong["cluster"] = "pub"
            wrong["shoeSize"] = 42
            wrong.removeValue(forKey: "age")
            let invalid = try await client.send(.post, "/api/v1/prechecks", token: patient, json: ["questionnaireVersion": 1, "answers": wrong])
            #expect(invalid.status == .unprocessableContent)
            let body = try invalid.json()
            let problems = try #require(body["problems"] as? [[String: Any]])
            #expect(
                problems.compactMap { $0["code"] as? String } == ["out_of_range", "unknown_option", "required", "not_enabled", "unknown_item"],
                "\(problems)"
            )
            #expect((body["error"] as? [String: Any])?["field"] as? String == "answers.temperature")
            // Site queries: both coordinates or none, plain decimals only.
            for (query, field) in [("lat=0x10&lng=121.4", "lat"), ("lat=31.2", "lng"), ("lat=31.2&lng=nan", "lng"), ("lat=91&lng=121", "lat")] {
                let answer = try await client.get("/api/v1/sites?\(query)", token: nil)
                #expect(try answer.status == .badRequest && answer.apiError().field == field, "\(query)")
            }
            let version = try await client.send(
                .post,
                "/api/v1/prechecks",
                token: patient,
                json: ["questionnaireVersion": 9, "answers": Self.feverAnswers]
            )
            #expect(try version.apiError().code == "questionnaire_version_unknown")

            // Home care and emergency do not book; a sentinel triage may book a sentinel, a fever-clinic one may not.
            var healthy = Self.feverAnswers
            healthy["temperature"] = 36.6
            healthy.removeValue(forKey: "feverDays")
            let home = try await Self.precheck(client, token: patient, answers: healthy)
            #expect(home["level"] as? String == "home_care" && (home["recommendedSites"] as? [Any])?.isEmpty == true)
            var danger = Self.feverAnswers
            danger["dangerSigns"] = ["confusion"]
            let emergency = try await Self.precheck(client, token: patient, answers: danger)
            #expect(emergency["level"] as? String == "emergency" && (emergency["advice"] as? String)?.contains("120") == true)
            var mild = healthy
            mild["temperature"] = 37.6
            mild["feverDays"] = 1
            let sentinel = try await Self.precheck(client, token: patient, answers: mild)
            #expect(sentinel["level"] as? String == "sentinel")
            let sentinels = try #require(sentinel["recommendedSites"] as? [[String: Any]])
            #expect(sentinels.first?["kind"] as? String == "fever_sentinel")

            let sentinelSite = try #require(sentinels.first?["id"] as? Int)
            let tomorrow = Day(shanghaiTimeOf: Int64(TestClock.now.timeIntervalSince1970)) + 1
            let sentinelSlots =
                try await client.get("/api/v1/sites/\(sentinelSite)/slots?date=\(tomorrow)", token: nil).json()["slots"] as? [[String: Any]]
            #expect(sentinelSlots?.map { $0["start"] as? String } == ["08:00", "09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00"])
            let sentinelSlot = try #require(sentinelSlots?.first?["id"] as? Int)
            for (precheck, code) in [(home, "precheck_not_referring"), (emergency, "precheck_emergency")] {
                let answer = try await Self.book(client, token: patient, slot: sentinelSlot, precheck: precheck["id"] as! Int)
                #expect(try answer.status == .unprocessableContent && answer.apiError().code == code)
            }
            let fever = try await Self.precheck(client, token: patient)
            let unsuitable = try await Self.book(client, token: patient, slot: sentinelSlot, precheck: fever["id"] as! Int)
            #expect(try unsuitable.apiError().code == "site_not_suitable")
            let booked = try await Self.book(client, token: patient, slot: sentinelSlot, precheck: sentinel["id"] as! Int)
            #expect(booked.status == .created, "\(String(buffer: booked.body))")
            let missing = try await Self.book(client, token: patient, slot: 99_999_999, precheck: sentinel["id"] as! Int)
            #expect(try missing.status == .notFound && missing.apiError().code == "slot_not_found")

            // Cancelling frees the place and allows another booking that day.
            let id = try #require(try booked.json()["id"] as? Int)
            let cancelled = try await client.send(.delete, "/api/v1/appointments/\(id)", token: patient)
            #expect(try cancelled.json()["status"] as? String == "cancelled")
            #expect(try await client.send(.delete, "/api/v1/appointments/\(id)", token: patient).status == .ok, "cancelling twice is harmless")
            #expect(try await client.get("/api/v1/appointments/\(id)/pass", token: patient).status == .gone)
            let after = try await client.get("/api/v1/sites/\(sentinelSite)/slots?date=\(tomorrow)", token: nil).json()["slots"] as? [[String: Any]]
            #expect(after?.first?["booked"] as? Int == 0)
            #expect(try await Self.book(client, token: patient, slot: sentinelSlot, precheck: sentinel["id"] as! Int).status == .created)
            let list = try await client.get("/api/v1/appointments", token: patient).json()["appointments"] as? [[String: Any]]
            #expect(list?.map { $0["status"] as? String } == ["booked", "cancelled"])
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Every refusal a kiosk can meet, distinct; a forged and a foreign-key pass; offline scans
    /// reconciled once; an expired booking released so the patient can book again.
    @Test(arguments: TestEngine.available)
    func theKioskRefusesEachBadPassWithItsOwnCode(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        let time = ManualClock(TestClock.start)
        try await withTestApp(engine, demo: true, clock: time.clock, sms: sms, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let kioskAccount = try accounts.staff("kiosk.ruijin-fever")
            let site = try Self.siteId(kioskAccount.scope)
            var kiosk = try await client.signIn(kioskAccount, at: time.clock.now).access

            /// A new patient with a fever-clinic pre-check and a booking; returns (patient token, appointment, pass token).
            func booked(_ n: Int, site: Int, days: Int = 0) async throws -> (String, Int, String) {
                try await Self.booked(client, sms: sms, 100 + n, site: site, now: time.clock.now, days: days)
            }
            func checkIn(_ token: String) async throws -> TestResponse {
                try await client.send(.post, "/api/v1/checkins", token: kiosk, json: ["token": token])
            }
            func refusal(_ token: String) async throws -> (HTTPResponse.Status, String) {
                let answer = try await checkIn(token)
                return (answer.status, (try? answer.apiError().code) ?? "none: \(String(buffer: answer.body))")
            }

            let (_, _, good) = try await booked(1, site: site)
            let (_, _, tomorrow) = try await booked(2, site: site, days: 1)
            let otherSite = try #require(
                try await client.get("/api/v1/sites?service=fever&limit=100", token: nil).json()["sites"] as? [[String: Any]]
            )
            .compactMap { $0["id"] as? Int }.first { $0 != site }
            let (_, _, elsewhere) = try await booked(3, site: try #require(otherSite))
            let (cancelledPatient, cancelledId, cancelled) = try await booked(4, site: site)
            #expect(try await client.send(.delete, "/api/v1/appointments/\(cancelledId)", token: cancelledPatient).status == .ok)
            let (_, lateId, late) = try await booked(5, site: site)
            let (_, offlineId, offline) = try await booked(6, site: site)

            #expect(try await checkIn(good).status == .ok)
            #expect(try await refusal(good) == (.conflict, "pass_already_used"))
            #expect(try await refusal(tomorrow) == (.unprocessableContent, "pass_not_yet_valid"))
            #expect(try await refusal(elsewhere) == (.unprocessableContent, "pass_wrong_site"))
            #expect(try await refusal(cancelled) == (.conflict, "pass_cancelled"))
            #expect(try await refusal("HCP1.not-a-pass") == (.unprocessableContent, "pass_malformed"))

            // Forged: the payload edited to another appointment, the signature kept.
            let parts = late.split(separator: ".").map(String.init)
            let payloadBytes = try #require(Base64URL.decode(parts[1]))
            var payload = try #require(try JSONSerialization.jsonObject(with: Data(payloadBytes)) as? [String: Any])
            payload["apt"] = lateId + 1
            let edited = try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])
            #expect(try await refusal("HCP1.\(Base64URL.encode(Array(edited))).\(parts[2])") == (.unprocessableContent, "pass_invalid_signature"))
            // Signed by a key the network never published, under its own kid and under ours.
            let stranger = try SM2PrivateKey.generate()
            let claims: [String: any Sendable] = ["jti": "forged", "apt": lateId, "site": site, "nbf": time.clock.seconds - 60]
            for kid in ["k-unknown", TestDatabase.keys.signingKeyID] {
                let foreign = try SignedToken.sign(
                    claims: claims,
                    type: "visit",
                    issuedAt: time.clock.now,
                    expiresAt: time.clock.now.addingTimeInterval(3600),
                    key: stranger,
                    keyID: kid
                )
                #expect(try await refusal(foreign) == (.unprocessableContent, "pass_invalid_signature"), "kid \(kid)")
            }
            // A genuine token of another type is no visit pass.
            let prescription = try SignedToken.sign(
                claims: claims,
                type: "prescription",
                issuedAt: time.clock.now,
                expiresAt: time.clock.now.addingTimeInterval(3600),
                key: TestDatabase.keys.signingKey,
                keyID: TestDatabase.keys.signingKeyID
            )
            #expect(try await refusal(prescription) == (.unprocessableContent, "pass_malformed"))

            // Offline scans, uploaded later: judged as of the scan, each reconciled once.
            time.advance(by: 600)
            let scannedAt = time.clock.seconds - 120
            let batch: [String: Any] = [
                "checkins": [
                    ["token": offline, "scannedAt": scannedAt], ["token": good, "scannedAt": scannedAt],
                    ["token": offline, "scannedAt": time.clock.seconds + 3_600],
                ]
            ]
            let first = try await client.send(.post, "/api/v1/checkins:batch", token: kiosk, json: batch)
            #expect(first.status == .ok, "\(String(buffer: first.body))")
            let results = try #require(try first.json()["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? String } == ["checked_in", "rejected", "rejected"], "\(results)")
            #expect(results.map { $0["code"] as? String } == [nil, "pass_already_used", "scan_time_invalid"])
            #expect(results[0]["appointmentId"] as? Int == offlineId && results[0]["queueNumber"] as? Int == 2)
            // Resent: the same answers, marked as repeated (a rejection stays a rejection).
            let second = try #require(
                try await client.send(.post, "/api/v1/checkins:batch", token: kiosk, json: batch).json()["results"] as? [[String: Any]]
            )
            #expect(second.map { $0["status"] as? String } == ["checked_in", "rejected", "rejected"])
            #expect(second.map { $0["duplicate"] as? Bool } == [true, true, nil])
            #expect(second[0]["queueNumber"] as? Int == 2)
            // A copy of a pass scanned again later (another scan time) is judged afresh: already used.
            let copy = try await client.send(
                .post,
                "/api/v1/checkins:batch",
                token: kiosk,
                json: ["checkins": [["token": offline, "scannedAt": scannedAt + 30]]]
            )
            #expect((try copy.json()["results"] as? [[String: Any]])?.first?["code"] as? String == "pass_already_used")
            // A scan dated before its pass and booking existed back-dates the visit: refused, the
            // booking untouched.
            let (earlyPatient, earlyId, early) = try await booked(7, site: site)
            let backDated = try await client.send(
                .post,
                "/api/v1/checkins:batch",
                token: kiosk,
                json: ["checkins": [["token": early, "scannedAt": time.clock.seconds - 300]]]
            )
            #expect(
                (try backDated.json()["results"] as? [[String: Any]])?.first?["code"] as? String == "scan_time_invalid",
                "\(String(buffer: backDated.body))"
            )
            #expect(try await client.get("/api/v1/appointments/\(earlyId)", token: earlyPatient).json()["status"] as? String == "booked")

            // Two hours on: the late patient's pass has expired; their booking is released as a
            // no-show when they book again, and the kiosk (signed in again) refuses the old pass.
            time.advance(by: 2 * 3600)
            kiosk = try await client.signIn(kioskAccount, at: time.clock.now).access
            #expect(try await refusal(late) == (.unprocessableContent, "pass_expired"))
            let latePatient = try await Self.patient(client, sms: sms, phone: Self.phone(105))
            let precheck = try await Self.precheck(client, token: latePatient)["id"] as! Int
            let slot = try await Self.slot(client, site: site, now: time.clock.now)
            #expect(try await Self.book(client, token: latePatient, slot: slot, precheck: precheck).status == .created)
            #expect(try await client.get("/api/v1/appointments/\(lateId)", token: latePatient).json()["status"] as? String == "no_show")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// 200 patients book one slot of capacity 20 at the same moment: exactly 20 get it. One
    /// patient booking ten windows at once gets exactly one.
    @Test(arguments: TestEngine.available)
    func concurrentBookingsNeverExceedCapacity(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        // 200 simulated phones (one account each) ask for codes from this one address: above the
        // per-client default (docs/security.md), so the test raises it as a load tool would.
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.identity.otpPerClient = RateLimit(1_000, per: 3600) }
        try await withTestApp(
            engine,
            demo: true,
            sms: sms,
            dataDirectory: directory,
            configure: configure
        ) { client in
            let accounts = try DemoAccounts(directory: directory)
            let site = try Self.siteId(try accounts.staff("kiosk.ruijin-fever").scope)
            let tomorrow = Day(shanghaiTimeOf: Int64(TestClock.now.timeIntervalSince1970)) + 1
            let slots = try #require(
                try await client.get("/api/v1/sites/\(site)/slots?date=\(tomorrow)", token: nil).json()["slots"] as? [[String: Any]]
            )
            let slot = try #require(slots.first { $0["start"] as? String == "10:00" })
            #expect(slot["capacity"] as? Int == 20)
            let slotId = slot["id"] as! Int

            var patients: [(token: String, precheck: Int)] = []
            for n in 0..<200 {
                let token = try await Self.patient(client, sms: sms, phone: Self.phone(1_000 + n))
                patients.append((token, try await Self.precheck(client, token: token)["id"] as! Int))
            }
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for patient in patients {
                    group.addTask {
                        let answer = try await Self.book(client, token: patient.token, slot: slotId, precheck: patient.precheck)
                        return (answer.status, try? answer.apiError().code)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == .created }.count == 20)
            #expect(
                statuses.filter { $0.0 == .conflict && $0.1 == "slot_full" }.count == 180,
                "\(Set(statuses.map { "\($0.0.code) \($0.1 ?? "")" }))"
            )
            let after = try await client.get("/api/v1/sites/\(site)/slots?date=\(tomorrow)", token: nil).json()["slots"] as? [[String: Any]]
            #expect(after?.first { $0["id"] as? Int == slotId }?["booked"] as? Int == 20)

            // One patient, ten windows at once: one appointment for the day.
            let one = try await Self.patient(client, sms: sms, phone: Self.phone(5_000))
            let precheck = try await Self.precheck(client, token: one)["id"] as! Int
            let windows = slots.compactMap { $0["id"] as? Int }.filter { $0 != slotId }.prefix(10)
            let answers = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for window in windows { group.addTask { try await Self.book(client, token: one, slot: window, precheck: precheck).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.filter { $0 == .created }.count == 1 && answers.filter { $0 == .conflict }.count == 9, "\(answers)")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A pre-check answered offline is triaged when it syncs; a bad one is rejected alone.
    @Test(arguments: TestEngine.available)
    func aPreCheckAnsweredOfflineIsTriagedWhenItSyncs(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, sms: sms, dataDirectory: directory) { client in
            let patient = try await Self.patient(client, sms: sms, phone: Self.phone(20))
            var answers = Self.feverAnswers.mapValues { value -> JSONValue in
                switch value {
                case let flag as Bool: .bool(flag)
                case let number as Int: .integer(Int64(number))
                case let number as Double: .string(String(number))  // decimals travel as strings (SPEC.md §5)
                default: .string(value as! String)
                }
            }
            let good = JSONValue.object(["questionnaireVersion": .integer(1), "answers": .object(answers)])
            answers["temperature"] = .string("58.0")
            let bad = JSONValue.object(["questionnaireVersion": .integer(1), "answers": .object(answers)])
            let pushed = try await SyncTests.push(
                client,
                token: patient,
                clientId: "phone-offline-1",
                [
                    Mutation(id: 1, name: "submitPreCheck", args: good), Mutation(id: 2, name: "submitPreCheck", args: bad),
                ]
            )
            #expect(pushed.status == .ok, "\(String(buffer: pushed.body))")
            let results = try SyncTests.results(pushed)
            #expect(results.map(\.status) == [.applied, .rejected], "\(results)")
            #expect(results[1].code == "invalid_answers" && results[1].message?.contains("temperature") == true)
            let synced = try await SyncTests.pullAll(client, token: patient, clientId: "phone-offline-1")
            let prechecks = try #require(synced.records["prechecks"])
            #expect(prechecks.count == 1)
            #expect(SyncTests.string(prechecks.values.first, "level") == "fever_clinic")
            if case .object(let record)? = prechecks.values.first, case .object(let stored)? = record["answers"] {
                #expect(stored["temperature"] == .string("38.6"))
            } else {
                Issue.record("the pre-check record has no answers")
            }
            // Staff may not submit pre-checks.
            let accounts = try DemoAccounts(directory: directory)
            let doctor = try await client.signIn(try accounts.staff("doctor.ruijin")).access
            let refused = try SyncTests.results(
                try await SyncTests.push(client, token: doctor, clientId: "desk-device-1", [Mutation(id: 1, name: "submitPreCheck", args: good)])
            )
            #expect(refused.first?.status == .rejected && refused.first?.code == "forbidden_role")
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
