import Foundation
import HTTPTypes
import HealthCloudCrypto
import HealthCloudStorage
import HealthCloudTestSupport
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import HealthCloudApp

/// What a hostile client can do to sign-in (issue #12): lock or sign out someone else, spray
/// passwords, pump SMS, tell real usernames by timing, learn whose ID number is whose. Over
/// loopback (`.live`), the loopback peer configured as the trusted proxy, so `X-Forwarded-For`
/// plays the clients.
@Suite struct SignInAbuseTests {
    static let loopback = "127.0.0.1,::1"
    static let attacker = "198.51.100.7"
    static let owner = "203.0.113.20"

    /// Counts password-hash evaluations (the service's hook).
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func add() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    // MARK: Lockout per (username, client)

    @Test(arguments: TestEngine.available)
    func failuresFromOneClientNeitherLockTheOwnerOutNorEndTheOwnersSessions(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let clock = ManualClock(TestClock.start)
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.trustedProxies = TrustedProxies(Self.loopback)! }
        try await withTestApp(
            engine,
            demo: true,
            mode: .live,
            clock: clock.clock,
            dataDirectory: directory,
            configure: configure
        ) { client async throws in
            let account = try DemoAccounts(directory: directory).staff("doctor.ruijin")
            let session = try await client.signIn(account, from: Self.owner, at: clock.clock.now)

            var codes: [String] = []
            for _ in 0..<5 {
                let answer = try await client.login(account.username, "Wrong-Pass-123", from: Self.attacker)
                codes.append(try answer.apiError().code)
            }
            #expect(codes == ["invalid_credentials", "invalid_credentials", "invalid_credentials", "invalid_credentials", "account_locked"])
            let locked = try await client.login(account.username, account.password, from: Self.attacker)
            #expect(locked.status.code == 423, "the attacker's client is locked, even with the right password")
            #expect(locked.headers[.retryAfter].flatMap { Int($0) }.map { $0 > 0 && $0 <= 900 } == true)

            // The owner's session lives on, and the owner signs in again from their own client.
            #expect(try await client.get("/api/v1/me", token: session.access).status == .ok, "the lockout did not end the owner's session")
            let refreshed = try await client.send(.post, "/api/v1/auth/refresh", json: ["refreshToken": session.refresh])
            #expect(refreshed.status == .ok)
            clock.advance(by: 30)
            let again = try await client.signIn(account, from: Self.owner, at: clock.clock.now)
            #expect(try await client.get("/api/v1/me", token: again.access).status == .ok)

            // The lock is the pair's: another address is not locked either.
            #expect(try await client.login(account.username, account.password, from: "198.51.100.8").status == .ok)
        }
    }

    @Test(arguments: TestEngine.available)
    func failuresFromManyClientsThrottleTheUsernameButNotTheOwnersClient(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let clock = ManualClock(TestClock.start)
        let configure: @Sendable (inout AppConfiguration) -> Void = {
            $0.trustedProxies = TrustedProxies(Self.loopback)!
            $0.identity.accountFailures = RateLimit(6, per: 600)
        }
        try await withTestApp(
            engine,
            demo: true,
            mode: .live,
            clock: clock.clock,
            dataDirectory: directory,
            configure: configure
        ) { client async throws in
            let account = try DemoAccounts(directory: directory).staff("leader.pudong")
            _ = try await client.signIn(account, from: Self.owner, at: clock.clock.now)
            // Six failures, each from another address (a botnet, below the per-client lockout).
            for n in 1...6 {
                #expect(try await client.login(account.username, "Wrong-Pass-123", from: "198.51.100.\(n)").status == .unauthorized)
            }
            let throttled = try await client.login(account.username, account.password, from: "198.51.100.99")
            #expect(throttled.status == .tooManyRequests)
            #expect(try throttled.apiError().code == "sign_in_throttled")
            let wait = try #require(throttled.headers[.retryAfter].flatMap { Int($0) })
            #expect(wait > 0 && wait <= 100, "one more attempt per 600/6 s")
            // The owner's client (it opened a session before) is not kept out.
            #expect(try await client.login(account.username, account.password, from: Self.owner).status == .ok)
            // An unknown username is throttled the same way: the throttle tells nothing.
            for n in 1...6 { _ = try await client.login("no.such.user", "Wrong-Pass-123", from: "198.51.100.\(n)") }
            #expect(try await client.login("no.such.user", "Wrong-Pass-123", from: "198.51.100.99").apiError().code == "sign_in_throttled")
            clock.advance(by: 101)
            #expect(try await client.login(account.username, account.password, from: "198.51.100.99").status == .ok, "slowed, not locked")
        }
    }

    // MARK: Rate limits

    @Test(arguments: TestEngine.available)
    func staffSignInIsLimitedPerClientAndOverall(engine: TestEngine) async throws {
        let configure: @Sendable (inout AppConfiguration) -> Void = {
            $0.trustedProxies = TrustedProxies(Self.loopback)!
            $0.identity.staffLoginPerClient = RateLimit(3, per: 60)
            $0.identity.staffLoginGlobal = RateLimit(5, per: 60)
        }
        try await withTestApp(
            engine,
            mode: .live,
            configure: configure
        ) { client async throws in
            // Password spraying: one password, many usernames, one client.
            for n in 0..<3 {
                #expect(try await client.login("user.\(n)", "Summer-2026!", from: Self.attacker).status == .unauthorized)
            }
            let limited = try await client.login("user.3", "Summer-2026!", from: Self.attacker)
            #expect(limited.status == .tooManyRequests)
            #expect(try limited.apiError().code == "sign_in_rate_limited")
            #expect(limited.headers[.retryAfter].flatMap { Int($0) }.map { (1...20).contains($0) } == true, "one attempt per 60/3 s")
            // Another client still gets its answer, until the overall limit (5) is spent.
            #expect(try await client.login("user.4", "Summer-2026!", from: "198.51.100.8").status == .unauthorized)
            #expect(try await client.login("user.5", "Summer-2026!", from: "198.51.100.9").status == .unauthorized)
            let overall = try await client.login("user.6", "Summer-2026!", from: "198.51.100.10")
            #expect(overall.status == .tooManyRequests && overall.headers[.retryAfter] != nil)
        }
    }

    @Test(arguments: TestEngine.available)
    func phoneCodesAreLimitedPerClientAndOverall(engine: TestEngine) async throws {
        let sms = DevSMSSink()
        let configure: @Sendable (inout AppConfiguration) -> Void = {
            $0.trustedProxies = TrustedProxies(Self.loopback)!
            $0.identity.otpPerClient = RateLimit(3, per: 3600)
            $0.identity.otpGlobal = RateLimit(5, per: 3600)
        }
        try await withTestApp(
            engine,
            mode: .live,
            sms: sms,
            configure: configure
        ) { client async throws in
            // SMS pumping: one client, many numbers.
            for n in 0..<3 {
                #expect(try await client.requestCode("1390000000\(n)", from: Self.attacker).status == .accepted)
            }
            let limited = try await client.requestCode("13900000003", from: Self.attacker)
            #expect(limited.status == .tooManyRequests)
            #expect(try limited.apiError().code == "otp_rate_limited")
            #expect(limited.headers[.retryAfter].flatMap { Int($0) }.map { (1190...1200).contains($0) } == true, "one code per 3600/3 s")
            #expect(sms.messages(to: "13900000003").isEmpty)
            // Other clients share the overall budget of 5.
            #expect(try await client.requestCode("13900000004", from: "198.51.100.8").status == .accepted)
            #expect(try await client.requestCode("13900000005", from: "198.51.100.9").status == .accepted)
            let overall = try await client.requestCode("13900000006", from: "198.51.100.10")
            #expect(overall.status == .tooManyRequests && overall.headers[.retryAfter] != nil)
            #expect(sms.messages(to: "13900000006").isEmpty)
        }
    }

    // MARK: The client's address

    @Test(arguments: TestEngine.available)
    func forwardedForCountsOnlyFromAConfiguredProxy(engine: TestEngine) async throws {
        // No proxy configured: the header is the attacker's to write, so every attempt is the peer's.
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.identity.staffLoginPerClient = RateLimit(2, per: 60) }
        try await withTestApp(engine, mode: .live, configure: configure) { client async throws in
            #expect(try await client.login("a.user", "Wrong-Pass-123", from: "198.51.100.1").status == .unauthorized)
            #expect(try await client.login("a.user", "Wrong-Pass-123", from: "198.51.100.2").status == .unauthorized)
            #expect(
                try await client.login("a.user", "Wrong-Pass-123", from: "198.51.100.3").status == .tooManyRequests,
                "X-Forwarded-For from an untrusted peer is ignored"
            )
        }
        let behindProxy: @Sendable (inout AppConfiguration) -> Void = {
            $0.trustedProxies = TrustedProxies(Self.loopback)!
            $0.identity.staffLoginPerClient = RateLimit(2, per: 60)
        }
        try await withTestApp(
            engine,
            mode: .live,
            configure: behindProxy
        ) { client async throws in
            #expect(try await client.login("a.user", "Wrong-Pass-123", from: "198.51.100.1").status == .unauthorized)
            #expect(try await client.login("a.user", "Wrong-Pass-123", from: "198.51.100.1").status == .unauthorized)
            #expect(
                try await client.login("a.user", "Wrong-Pass-123", from: "198.51.100.2").status == .unauthorized,
                "behind a configured proxy each forwarded client counts apart"
            )
            // A client cannot pose as another by prepending to the proxy's header.
            #expect(try await client.login("a.user", "Wrong-Pass-123", from: "198.51.100.9, 198.51.100.1").status == .tooManyRequests)
        }
    }

    @Test func theClientIsTheNearestUntrustedHop() throws {
        let proxies = try #require(TrustedProxies("10.0.0.0/8, 192.0.2.1, ::1"))
        #expect(ClientAddress.resolve(peer: "198.51.100.5", forwardedFor: ["1.2.3.4"], trusted: proxies) == "198.51.100.5")
        #expect(ClientAddress.resolve(peer: "10.1.2.3", forwardedFor: ["1.2.3.4, 5.6.7.8"], trusted: proxies) == "5.6.7.8")
        #expect(ClientAddress.resolve(peer: "10.1.2.3", forwardedFor: ["1.2.3.4", "5.6.7.8, 192.0.2.1"], trusted: proxies) == "5.6.7.8")
        #expect(ClientAddress.resolve(peer: "::ffff:10.1.2.3", forwardedFor: ["junk, 5.6.7.8"], trusted: proxies) == "5.6.7.8")
        #expect(ClientAddress.resolve(peer: "10.1.2.3", forwardedFor: ["5.6.7.8, junk"], trusted: proxies) == "10.1.2.3")
        #expect(ClientAddress.resolve(peer: "::1", forwardedFor: [], trusted: proxies) == "::1")
        #expect(TrustedProxies("10.0.0.0/33") == nil && TrustedProxies("nginx") == nil)
        #expect(ClientAddress.limitKey("2001:db8:1:2:3:4:5:6") == ClientAddress.limitKey("2001:db8:1:2:ffff::1"), "IPv6 counts by /64")
    }

    // MARK: One password hash on every path

    @Test(arguments: TestEngine.available)
    func everySignInAnswerCostsOnePasswordHash(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let hashes = Counter()
        let configure: @Sendable (inout AppConfiguration) -> Void = {
            $0.trustedProxies = TrustedProxies(Self.loopback)!
            $0.identity.onPasswordHash = { hashes.add() }
            $0.identity.accountFailures = RateLimit(10, per: 600)
        }
        try await withTestApp(
            engine,
            demo: true,
            mode: .live,
            dataDirectory: directory,
            configure: configure
        ) { client async throws in
            let account = try DemoAccounts(directory: directory).staff("pharmacist.ruijin")
            func cost(_ username: String, _ password: String, from ip: String) async throws -> (Int, String?) {
                let before = hashes.count
                let answer = try await client.login(username, password, from: ip)
                return (hashes.count - before, answer.status == .ok ? nil : try answer.apiError().code)
            }
            #expect(try await cost("no.such.user", "Wrong-Pass-123", from: Self.attacker) == (1, "invalid_credentials"))
            #expect(try await cost(account.username, "Wrong-Pass-123", from: Self.attacker) == (1, "invalid_credentials"))
            #expect(try await cost(account.username, account.password, from: Self.owner) == (1, nil))
            for _ in 0..<4 { _ = try await client.login(account.username, "Wrong-Pass-123", from: Self.attacker) }
            for _ in 0..<4 { _ = try await client.login("no.such.user", "Wrong-Pass-123", from: Self.attacker) }
            // Locked (a real account and an unknown name alike): still one hash, so the time tells nothing.
            #expect(try await cost(account.username, account.password, from: Self.attacker) == (1, "account_locked"))
            #expect(try await cost("no.such.user", "Wrong-Pass-123", from: Self.attacker) == (1, "account_locked"))
            // Throttled for the username (failures from many clients): one hash too.
            for n in 1...10 { _ = try await client.login(account.username, "Wrong-Pass-123", from: "198.51.100.\(n)") }
            #expect(try await cost(account.username, "Wrong-Pass-123", from: "198.51.100.99") == (1, "sign_in_throttled"))
        }
    }

    /// The per-client limit answers before the username is read, and costs no hash at all.
    @Test func aRateLimitedAttemptCostsNoHash() async throws {
        let hashes = Counter()
        let configure: @Sendable (inout AppConfiguration) -> Void = {
            $0.identity.onPasswordHash = { hashes.add() }
            $0.identity.staffLoginPerClient = RateLimit(1, per: 60)
        }
        try await withTestApp(
            .sqlite,
            configure: configure
        ) { client async throws in
            _ = try await client.send(.post, "/api/v1/auth/staff/login", json: ["username": "x.user", "password": "Wrong-Pass-123"])
            let limited = try await client.send(.post, "/api/v1/auth/staff/login", json: ["username": "x.user", "password": "Wrong-Pass-123"])
            #expect(limited.status == .tooManyRequests)
            #expect(hashes.count == 1)
        }
    }

    // MARK: Real name

    @Test(arguments: TestEngine.available)
    func anotherPersonsIDNumberAnswersLikeAFreshOneAndStaysUnverified(engine: TestEngine) async throws {
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, sms: sms) { client async throws in
            let holder = try await client.patient("13911110001", sms: sms)
            let claimant = try await client.patient("13911110002", sms: sms)
            let heldNumber = "11010519491231002X"
            let freshNumber = "110101199003077774"
            #expect(try await client.send(.post, "/api/v1/dev/identity-register", json: ["name": "王芳", "idNumber": heldNumber]).status == .noContent)
            let verified = try await client.send(.put, "/api/v1/me/real-name", token: holder, json: ["name": "王芳", "idNumber": heldNumber])
            #expect(try verified.json()["realNameStatus"] as? String == "verified")
            #expect(try verified.json()["realNameVerified"] as? Bool == true)

            // Someone else's number and a number nobody holds: the same answer.
            let taken = try await client.send(.put, "/api/v1/me/real-name", token: claimant, json: ["name": "李四", "idNumber": heldNumber])
            let fresh = try await client.send(.put, "/api/v1/me/real-name", token: claimant, json: ["name": "李四", "idNumber": freshNumber])
            #expect(taken.status == .ok && fresh.status == .ok, "\(String(buffer: taken.body))")
            let (a, b) = (try taken.json(), try fresh.json())
            #expect(Set(a.keys) == Set(b.keys))
            #expect(a["realNameStatus"] as? String == "unverified" && b["realNameStatus"] as? String == "unverified")
            #expect(a["realNameVerified"] as? Bool == false && b["realNameVerified"] as? Bool == false)
            #expect(a["idNumber"] as? String == "110***********002X", "the caller sees their own declaration, masked")
            // The holder keeps their verified number.
            #expect(try await client.get("/api/v1/me", token: holder).json()["realNameStatus"] as? String == "verified")
        }
    }

    @Test(arguments: TestEngine.available)
    func aSelfDeclaredNumberIsUnverifiedUntilTheSourceConfirmsIt(engine: TestEngine) async throws {
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, sms: sms) { client async throws in
            let patient = try await client.patient("13911110003", sms: sms)
            #expect(try await client.get("/api/v1/me", token: patient).json()["realNameStatus"] as? String == "none")
            let body: [String: Any] = ["name": "赵敏", "idNumber": "110101199003077774"]
            let declared = try await client.send(.put, "/api/v1/me/real-name", token: patient, json: body)
            #expect(declared.status == .ok)
            #expect(try declared.json()["realNameStatus"] as? String == "unverified", "a valid checksum is not a verification")
            #expect(try await client.get("/api/v1/me", token: patient).json()["realNameVerified"] as? Bool == false)

            _ = try await client.send(.post, "/api/v1/dev/identity-register", json: body)
            let confirmed = try await client.send(.put, "/api/v1/me/real-name", token: patient, json: body)
            #expect(try confirmed.json()["realNameStatus"] as? String == "verified")
            let me = try await client.get("/api/v1/me", token: patient).json()
            #expect(me["realNameStatus"] as? String == "verified" && me["realNameVerified"] as? Bool == true)
            #expect(me["idNumber"] as? String == "110***********7774")
        }
    }

    @Test func outsideDemoModeNothingIsVerifiedAndTheRegisterDoesNotExist() async throws {
        let sms = DevSMSSink()
        try await withTestApp(.sqlite, demo: false, sms: sms) { client async throws in
            #expect(
                try await client.send(.post, "/api/v1/dev/identity-register", json: ["name": "赵敏", "idNumber": "110101199003077774"]).status
                    == .notFound
            )
        }
    }
}

extension TestClientProtocol {
    func login(_ username: String, _ password: String, from ip: String) async throws -> TestResponse {
        try await execute(
            uri: "/api/v1/auth/staff/login",
            method: .post,
            headers: [SignInAbuseTests.forwardedFor: ip],
            body: jsonBody(["username": username, "password": password])
        ) { $0 }
    }

    func requestCode(_ phone: String, from ip: String) async throws -> TestResponse {
        try await execute(uri: "/api/v1/auth/otp", method: .post, headers: [SignInAbuseTests.forwardedFor: ip], body: jsonBody(["phone": phone])) {
            $0
        }
    }

    /// Password then TOTP, from `ip` (through the trusted proxy).
    func signIn(_ account: DemoAccounts.Staff, from ip: String, at date: Date) async throws -> (access: String, refresh: String) {
        let challenge = try await login(account.username, account.password, from: ip)
        #expect(challenge.status == .ok, "\(String(buffer: challenge.body))")
        let mfaToken = try #require(try challenge.json()["mfaToken"] as? String)
        let code = TOTP(secret: try #require(Base32.decode(account.totpSecret))).code(at: date)
        return try await execute(
            uri: "/api/v1/auth/staff/mfa",
            method: .post,
            headers: [SignInAbuseTests.forwardedFor: ip],
            body: jsonBody(["mfaToken": mfaToken, "code": code])
        ) { response throws in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let body = try response.json()
            return (try #require(body["accessToken"] as? String), try #require(body["refreshToken"] as? String))
        }
    }

    /// A patient signed in by phone code.
    func patient(_ phone: String, sms: DevSMSSink) async throws -> String {
        _ = try await send(.post, "/api/v1/auth/otp", json: ["phone": phone])
        let code = String(try #require(sms.messages(to: phone).first?.text.firstMatch(of: /\d{6}/)).output)
        let login = try await send(.post, "/api/v1/auth/patient/login", json: ["phone": phone, "code": code])
        return try #require(try login.json()["accessToken"] as? String, "\(String(buffer: login.body))")
    }
}

extension SignInAbuseTests {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
}
