import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudStorage
import HealthCloudTestSupport
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct PatientSignInTests {
    @Test(arguments: TestEngine.available)
    func phoneCodeSignInRegistersAndMasks(engine: TestEngine) async throws {
        let sms = DevSMSSink()
        try await withTestApp(engine, sms: sms) { client in
            let phone = "13955556666"
            let sent = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": phone])
            #expect(sent.status == .accepted)
            let text = try #require(sms.messages(to: phone).first?.text)
            let code = try #require(text.firstMatch(of: /\d{6}/)).output

            // Asking again at once is rate limited, with Retry-After.
            let again = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": phone])
            #expect(again.status == .tooManyRequests)
            #expect(try again.apiError().code == "otp_rate_limited")
            #expect(again.headers[.retryAfter] != nil)

            let login = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": phone, "code": String(code)])
            #expect(login.status == .ok)
            let access = try #require(try login.json()["accessToken"] as? String)
            #expect(try login.json()["expiresIn"] as? Int == 900)
            let replay = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": phone, "code": String(code)])
            #expect(replay.status == .unauthorized, "a code works once")

            let me = try await client.get("/api/v1/me", token: access)
            #expect(me.status == .ok)
            let body = try me.json()
            #expect(body["phone"] as? String == "139****6666")
            #expect(body["realNameVerified"] as? Bool == false)
            #expect(!String(buffer: me.body).contains(phone))

            // Real name: a bad ID number names the field; a good one is stored and shown masked.
            let bad = try await client.send(.put, "/api/v1/me/real-name", token: access, json: ["name": "王芳", "idNumber": "110105194912310021"])
            #expect(bad.status == .badRequest)
            #expect(try bad.apiError().field == "idNumber")
            let good = try await client.send(.put, "/api/v1/me/real-name", token: access, json: ["name": "王芳", "idNumber": "11010519491231002X"])
            #expect(good.status == .ok)
            #expect(try good.json()["idNumber"] as? String == "110***********002X")
            #expect(try good.json()["displayName"] as? String == "王*")
        }
    }

    @Test func wrongCodesKillTheCodeAfterFiveTries() async throws {
        let sms = DevSMSSink()
        try await withTestApp(.sqlite, sms: sms) { client in
            let phone = "13700007777"
            _ = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": phone])
            let code = String(try #require(sms.messages(to: phone).first?.text.firstMatch(of: /\d{6}/)).output)
            let wrong = code == "000000" ? "111111" : "000000"
            for _ in 0..<5 {
                let answer = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": phone, "code": wrong])
                #expect(try answer.apiError().code == "invalid_code")
            }
            let late = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": phone, "code": code])
            #expect(late.status == .unauthorized, "the right code no longer works after five wrong ones")
        }
    }

    @Test func aCodeExpiresAfterFiveMinutes() async throws {
        let sms = DevSMSSink()
        let clock = ManualClock(TestClock.start)
        try await withTestApp(.sqlite, clock: clock.clock, sms: sms) { client in
            let phone = "13600001111"
            _ = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": phone])
            let code = String(try #require(sms.messages(to: phone).first?.text.firstMatch(of: /\d{6}/)).output)
            clock.advance(by: 301)
            let answer = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": phone, "code": code])
            #expect(answer.status == .unauthorized)
        }
    }

    @Test func smsIsUnavailableOutsideDemoWithoutAGateway() async throws {
        // The dev outbox route does not exist outside demo mode.
        try await withTestApp(.sqlite, demo: false) { client in
            let outbox = try await client.get("/api/v1/dev/sms-outbox?phone=13800138000", token: nil)
            #expect(outbox.status == .notFound)
        }
    }
}

@Suite struct StaffSignInTests {
    @Test(arguments: TestEngine.available)
    func passwordThenTOTPThenRotation(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let leader = try accounts.staff("leader.pudong")
            let tokens = try await client.signIn(leader)
            let me = try await client.get("/api/v1/me", token: tokens.access)
            #expect(me.status == .ok)
            let roles = try #require(try me.json()["roles"] as? [[String: String]])
            #expect(roles == [["role": "leader", "scope": "district:310115"]])

            let rotated = try await client.send(.post, "/api/v1/auth/refresh", json: ["refreshToken": tokens.refresh])
            #expect(rotated.status == .ok)
            let newRefresh = try #require(try rotated.json()["refreshToken"] as? String)
            #expect(try await client.get("/api/v1/me", token: tokens.access).status == .unauthorized)

            let reuse = try await client.send(.post, "/api/v1/auth/refresh", json: ["refreshToken": tokens.refresh])
            #expect(try reuse.apiError().code == "refresh_token_reused")
            let dead = try await client.send(.post, "/api/v1/auth/refresh", json: ["refreshToken": newRefresh])
            #expect(try dead.apiError().code == "session_revoked")
        }
    }

    @Test func idleStaffSessionsExpireButAccessTokensRefresh() async throws {
        let directory = scratchDirectory()
        let clock = ManualClock(TestClock.start)
        try await withTestApp(.sqlite, demo: true, clock: clock.clock, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let tokens = try await client.signIn(try accounts.staff("doctor.ruijin"), at: clock.clock.now)

            clock.advance(by: 16 * 60)
            let expired = try await client.get("/api/v1/me", token: tokens.access)
            #expect(try expired.apiError().code == "token_expired")
            let refreshed = try await client.send(.post, "/api/v1/auth/refresh", json: ["refreshToken": tokens.refresh])
            #expect(refreshed.status == .ok)
            let access = try #require(try refreshed.json()["accessToken"] as? String)
            #expect(try await client.get("/api/v1/me", token: access).status == .ok)

            clock.advance(by: 31 * 60)
            let refreshToken = try #require(try refreshed.json()["refreshToken"] as? String)
            let idle = try await client.send(.post, "/api/v1/auth/refresh", json: ["refreshToken": refreshToken])
            #expect(try idle.apiError().code == "session_expired")
        }
    }

    @Test func fiveFailuresLockForFifteenMinutesAndTOTPCodesAreSingleUse() async throws {
        let directory = scratchDirectory()
        let clock = ManualClock(TestClock.start)
        try await withTestApp(.sqlite, demo: true, clock: clock.clock, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let pharmacist = try accounts.staff("pharmacist.ruijin")
            var codes: [String] = []
            for _ in 0..<5 {
                let answer = try await client.send(
                    .post,
                    "/api/v1/auth/staff/login",
                    json: ["username": pharmacist.username, "password": "Wrong-Pass-123"]
                )
                codes.append(try answer.apiError().code)
            }
            #expect(codes == ["invalid_credentials", "invalid_credentials", "invalid_credentials", "invalid_credentials", "account_locked"])
            let locked = try await client.send(
                .post,
                "/api/v1/auth/staff/login",
                json: ["username": pharmacist.username, "password": pharmacist.password]
            )
            #expect(locked.status.code == 423)
            clock.advance(by: 15 * 60 + 1)
            let tokens = try await client.signIn(pharmacist, at: clock.clock.now)
            #expect(!tokens.access.isEmpty)

            // The same TOTP code cannot open a second session.
            let mfa = try await client.send(
                .post,
                "/api/v1/auth/staff/login",
                json: ["username": pharmacist.username, "password": pharmacist.password]
            )
            let mfaToken = try #require(try mfa.json()["mfaToken"] as? String)
            let code = TOTP(secret: try #require(Base32.decode(pharmacist.totpSecret))).code(at: clock.clock.now)
            let replay = try await client.send(.post, "/api/v1/auth/staff/mfa", json: ["mfaToken": mfaToken, "code": code])
            #expect(try replay.apiError().code == "invalid_code")
        }
    }

    @Test func anAdministratorCreatesAnAccountThatEnrolsItsAuthenticator() async throws {
        let directory = scratchDirectory()
        try await withTestApp(.sqlite, demo: true, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let admin = try await client.signIn(try accounts.staff("admin.pudong"))
            let weak = try await client.send(
                .post,
                "/api/v1/admin/accounts",
                token: admin.access,
                json: [
                    "username": "nurse.li", "displayName": "李护士", "password": "password12",
                    "roles": [["role": "doctor", "scope": "district:310115"]],
                ]
            )
            #expect(try weak.apiError().code == "weak_password")
            #expect(try weak.apiError().field == "password")
            let outside = try await client.send(
                .post,
                "/api/v1/admin/accounts",
                token: admin.access,
                json: [
                    "username": "nurse.li", "displayName": "李护士", "password": "Str0ng-Passw0rd",
                    "roles": [["role": "doctor", "scope": "district:310101"]],
                ]
            )
            #expect(try outside.apiError().code == "forbidden_scope", "a district admin cannot grant in another district")
            let created = try await client.send(
                .post,
                "/api/v1/admin/accounts",
                token: admin.access,
                json: [
                    "username": "nurse.li", "displayName": "李护士", "password": "Str0ng-Passw0rd",
                    "roles": [["role": "doctor", "scope": "district:310115"]],
                ]
            )
            #expect(created.status == .created)

            let login = try await client.send(.post, "/api/v1/auth/staff/login", json: ["username": "nurse.li", "password": "Str0ng-Passw0rd"])
            #expect(try login.json()["enrolmentRequired"] as? Bool == true)
            let mfaToken = try #require(try login.json()["mfaToken"] as? String)
            let enrolment = try await client.send(.post, "/api/v1/auth/staff/mfa/enrol", json: ["mfaToken": mfaToken])
            let uri = try #require(try enrolment.json()["otpauthUri"] as? String)
            #expect(uri.hasPrefix("otpauth://totp/HealthCloud:nurse.li?secret="))
            let secretText = try #require(try enrolment.json()["secret"] as? String)
            let secret = try #require(Base32.decode(secretText))
            let done = try await client.send(
                .post,
                "/api/v1/auth/staff/mfa",
                json: ["mfaToken": mfaToken, "code": TOTP(secret: secret).code(at: TestClock.now)]
            )
            #expect(done.status == .ok)
            let again = try await client.send(.post, "/api/v1/auth/staff/mfa/enrol", json: ["mfaToken": mfaToken])
            #expect(again.status == .unauthorized, "the sign-in step token is used up")
        }
    }

    /// The verified-session memory: a sign-out through this instance counts at once; a
    /// revocation behind its back (another instance, a DBA) within the configured lifetime.
    @Test func rememberedSessionsAreForgottenOnChangesAndExpire() async throws {
        let directory = scratchDirectory()
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.identity.sessionCacheSeconds = 1 }
        try await withTestApp(.sqlite, demo: true, dataDirectory: directory, configure: configure) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city"))
            let pudong = try await client.signIn(try accounts.staff("leader.pudong"))
            #expect(try await client.get("/api/v1/me", token: city.access).status == .ok)
            #expect(try await client.get("/api/v1/me", token: pudong.access).status == .ok)
            // Signing out (a POST) empties the memory: the token is refused on the next call.
            #expect(try await client.send(.post, "/api/v1/auth/logout", token: city.access).status == .noContent)
            #expect(try await client.get("/api/v1/me", token: city.access).status == .unauthorized)
            // Revoked behind the server's back: still remembered for up to a second, then refused.
            #expect(try await client.get("/api/v1/me", token: pudong.access).status == .ok)
            try await rawExecute(
                "UPDATE sessions SET revoked_at = 1, revoked_reason = 'dba' WHERE account_id = (SELECT id FROM accounts WHERE username = 'leader.pudong')",
                on: location
            )
            try await Task.sleep(for: .milliseconds(1_100))
            let after = try await client.get("/api/v1/me", token: pudong.access)
            #expect(try after.status == .unauthorized && (try after.apiError().code) == "session_revoked")
        }
    }

    @Test(arguments: TestEngine.available)
    func aRoleRowEditedBehindTheServersBackIsRefusedAndAudited(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        // Behind the server's back, so no request empties the session cache: read every time.
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.identity.sessionCacheSeconds = 0 }
        try await withTestApp(engine, demo: true, dataDirectory: directory, configure: configure) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let huangpu = try await client.signIn(try accounts.staff("leader.huangpu"))
            let admin = try await client.signIn(try accounts.staff("admin"))
            // Before: the admin reads the Pudong account list; the Huangpu leader may not (wrong role).
            #expect(try await client.get("/api/v1/admin/accounts?scope=district:310115", token: huangpu.access).status == .forbidden)
            // Promote the Huangpu leader to admin in the database directly, without a valid seal.
            try await rawExecute(
                """
                UPDATE role_assignments SET role = 'admin', scope = 'city'
                WHERE account_id = (SELECT id FROM accounts WHERE username = 'leader.huangpu')
                """,
                on: location
            )
            let after = try await client.get("/api/v1/admin/accounts?scope=district:310115", token: huangpu.access)
            #expect(after.status == .forbidden, "the forged assignment grants nothing")
            // Its only assignment no longer verifies, so the account holds no role at all.
            let me = try await client.get("/api/v1/me", token: huangpu.access)
            #expect((try me.json()["roles"] as? [Any])?.isEmpty == true)
            let audit = try await client.get("/api/v1/admin/audit?limit=1000", token: admin.access)
            let records = try #require(try audit.json()["records"] as? [[String: Any]])
            #expect(records.contains { $0["action"] as? String == "integrity_violation" })
        }
    }
}

@Suite struct PublishedKeysTests {
    @Test func theKeySetVerifiesTokensTheServerSigns() async throws {
        try await withTestApp(.sqlite) { client in
            let answer = try await client.get("/api/v1/keys", token: nil)
            #expect(answer.status == .ok)
            let keys = try #require(try answer.json()["keys"] as? [[String: Any]])
            let current = try #require(keys.first { $0["current"] as? Bool == true })
            #expect(current["alg"] as? String == "SM2-SM3")
            let kid = try #require(current["kid"] as? String)
            #expect(kid == TestDatabase.keys.signingKeyID)
            let published = try SM2PublicKey(pemRepresentation: try #require(current["publicKeyPem"] as? String))
            let now = TestClock.now
            let token = try SignedToken.sign(
                claims: [:],
                type: "certificate",
                issuedAt: now,
                expiresAt: now.addingTimeInterval(60),
                key: TestDatabase.keys.signingKey,
                keyID: kid
            )
            #expect(try SignedToken.verify(token, publicKeys: [kid: published], now: now)["typ"] as? String == "certificate")
        }
    }
}
