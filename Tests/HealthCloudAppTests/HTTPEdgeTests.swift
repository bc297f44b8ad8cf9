import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudTestSupport
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWSTesting
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The edge of the server as a hostile client meets it (issue #12): connections that stall in
/// their head or body, or sit idle, are closed at their deadline; an oversized head is answered
/// 431; `/healthz` answers all the while; token answers are `no-store`, every answer `nosniff`;
/// `/metrics` needs the scrape credential. The connection tests talk raw TCP over loopback,
/// since an HTTP client library will not stall half-way through a head.
@Suite struct HTTPEdgeTests {
    /// Short limits so a test waits seconds, not the defaults' half-minute.
    static func shortLimits(read: Duration = .seconds(30), idle: Duration = .seconds(30)) -> @Sendable (inout AppConfiguration) -> Void {
        { configuration in
            configuration.connectionLimits.readTimeout = read
            configuration.connectionLimits.idleTimeout = idle
        }
    }

    @Test func aStalledHeadOrBodyIsAnswered408AndClosedAtTheReadDeadline() async throws {
        try await withTestApp(.sqlite, mode: .live, configure: Self.shortLimits(read: .seconds(1))) { client in
            let port = try #require(client.port)
            let start = ContinuousClock.now
            // Half a head, then silence.
            let halfHead = try RawSocket(port: port)
            try await halfHead.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            // Slowloris: a header line every 200 ms; the deadline runs from the first byte regardless.
            let dribbler = try RawSocket(port: port)
            try await dribbler.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            let dribbling = Task {
                for index in 0..<40 {
                    try? await dribbler.send("X-Drip-\(index): 1\r\n")
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            defer { dribbling.cancel() }
            // A whole head that promises 100 bytes of body and sends 10.
            let halfBody = try RawSocket(port: port)
            try await halfBody.send(
                "POST /api/v1/auth/otp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"phone\":"
            )

            // Meanwhile the server answers others.
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }

            for (name, socket) in [("half head", halfHead), ("dribbler", dribbler), ("half body", halfBody)] {
                // The upper bound only says "not held forever" (the dribbler would go on for 8 s).
                let (bytes, closed) = await socket.readUntilClosed(timeout: .seconds(20))
                let elapsed = ContinuousClock.now - start
                #expect(closed, "\(name): still open after \(elapsed)")
                #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(20), "\(name): closed after \(elapsed)")
                let text = String(decoding: bytes, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.1 408") && text.contains(#""code":"request_timeout""#), "\(name): \(text)")
            }
        }
    }

    @Test func idleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        // 2 s of idleness: long enough that a loaded machine answers the second request in time,
        // short enough to wait for. The upper bounds only say "closed, not held forever".
        try await withTestApp(.sqlite, mode: .live, configure: Self.shortLimits(idle: .seconds(2))) { client in
            let port = try #require(client.port)
            let start = ContinuousClock.now
            // Connects and never says a word.
            let silent = try RawSocket(port: port)
            // Asks once on a keep-alive connection and then sits.
            let keepAlive = try RawSocket(port: port)
            try await keepAlive.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            // The server is not closing connections wholesale: a request within the timeout is served.
            let (first, _) = await keepAlive.readUntilClosed(timeout: .seconds(5), orUntil: #"{"status":"ok"}"#)
            #expect(String(decoding: first, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            try await keepAlive.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")

            #expect(try await RawSocket.request(port: port, "GET", "/healthz").status == 200)

            let (rest, keepAliveClosed) = await keepAlive.readUntilClosed(timeout: .seconds(30))
            let keepAliveElapsed = ContinuousClock.now - start
            #expect(String(decoding: rest, as: UTF8.self).hasPrefix("HTTP/1.1 200"), "the second request on the connection is answered")
            #expect(
                keepAliveClosed && keepAliveElapsed >= .seconds(2) && keepAliveElapsed < .seconds(30),
                "keep-alive closed: \(keepAliveClosed) after \(keepAliveElapsed)"
            )
            let (nothing, silentClosed) = await silent.readUntilClosed(timeout: .seconds(30))
            let silentElapsed = ContinuousClock.now - start
            #expect(
                silentClosed && nothing.isEmpty && silentElapsed >= .seconds(2) && silentElapsed < .seconds(30),
                "silent closed: \(silentClosed) after \(silentElapsed)"
            )
        }
    }

    @Test func anOversizedHeadIsAnswered431AndClosedPromptly() async throws {
        try await withTestApp(.sqlite, mode: .live) { client in
            let port = try #require(client.port)
            // One 200 KB field, then many small fields over 16 KiB in all, each on its own connection.
            let bigField = "X-Big: " + String(repeating: "a", count: 200_000) + "\r\n"
            let manyFields = (0..<400).map { "X-Field-\($0): " + String(repeating: "b", count: 40) + "\r\n" }.joined()
            for (name, headers) in [("one field", bigField), ("many fields", manyFields)] {
                let socket = try RawSocket(port: port)
                let start = ContinuousClock.now
                try await socket.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\(headers)\r\n")
                let (bytes, closed) = await socket.readUntilClosed(timeout: .seconds(20))
                let elapsed = ContinuousClock.now - start
                let text = String(decoding: bytes, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.1 431") && text.contains(#""code":"headers_too_large""#), "\(name): \(text.prefix(200))")
                // Answered at once (long before the 30 s read deadline), whatever the machine's load.
                #expect(closed && elapsed < .seconds(15), "\(name): closed \(closed) after \(elapsed)")
                try await client.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.status == .ok)
                }
            }
            // A head well within the limit is served as before.
            let fine = try RawSocket(port: port)
            try await fine.send(
                "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Fine: \(String(repeating: "c", count: 12_000))\r\nConnection: close\r\n\r\n"
            )
            let (bytes, _) = await fine.readUntilClosed(timeout: .seconds(5))
            #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        }
    }

    /// Not a finding but the limits' boundary: an upgraded socket outlives the HTTP timeouts
    /// (it has its own ping), and a pending answer (the upgrade's wait) is not timed.
    @Test func aWebSocketOutlivesTheHTTPTimeouts() async throws {
        let directory = scratchDirectory()
        try await withTestApp(
            .sqlite,
            demo: true,
            mode: .live,
            dataDirectory: directory,
            configure: Self.shortLimits(read: .seconds(1), idle: .seconds(1))
        ) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let port = try #require(client.port)
            let account = try accounts.staff("leader.huangpu")
            let login = try await RawSocket.request(
                port: port,
                "POST",
                "/api/v1/auth/staff/login",
                json: ["username": account.username, "password": account.password]
            )
            let code = TOTP(secret: try #require(Base32.decode(account.totpSecret))).code(at: TestClock.now)
            let mfa = try await RawSocket.request(
                port: port,
                "POST",
                "/api/v1/auth/staff/mfa",
                json: ["mfaToken": try #require(login.body["mfaToken"] as? String), "code": code]
            )
            let token = try #require(mfa.body["accessToken"] as? String, "\(mfa)")
            let received = try await client.ws(
                "/api/v1/sync/live",
                configuration: {
                    var configuration = WebSocketClientConfiguration()
                    configuration.additionalHeaders = [.authorization: "Bearer \(token)"]
                    return configuration
                }()
            ) { inbound, _, _ in
                var iterator = inbound.messages(maxSize: 4_096).makeAsyncIterator()
                guard case .text? = try await iterator.next() else {
                    Issue.record("no hello")
                    return
                }
                // Past both HTTP timeouts, then a change this leader may read: the poke still arrives.
                try await Task.sleep(for: .milliseconds(2_500))
                try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
                    try await database.write { db in
                        _ = try await db.sync.put(
                            collection: "warnings",
                            id: "edge-test",
                            audience: SyncAudience(role: "leader", path: "city/310101/3"),
                            data: .object(["n": .integer(1)]),
                            now: 1
                        )
                    }
                }
                guard case .text(let poke)? = try await iterator.next() else {
                    Issue.record("the socket was closed")
                    return
                }
                #expect(poke.contains(#""type":"poke""#))
            }
            _ = received
        }
    }

    @Test(arguments: TestEngine.available)
    func tokenAnswersAreNotStoredAndEveryAnswerIsNosniff(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, sms: sms, dataDirectory: directory) { client in
            let accounts = try DemoAccounts(directory: directory)
            let account = try accounts.staff("leader.huangpu")
            func expectTokenHeaders(_ response: TestResponse, _ name: String) {
                #expect(response.status == .ok, "\(name): \(String(buffer: response.body))")
                #expect(response.headers[.cacheControl] == "no-store", "\(name)")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(name)")
            }
            let login = try await client.send(.post, "/api/v1/auth/staff/login", json: ["username": account.username, "password": account.password])
            expectTokenHeaders(login, "staff login")
            let mfaToken = try #require(try login.json()["mfaToken"] as? String)
            let code = TOTP(secret: try #require(Base32.decode(account.totpSecret))).code(at: TestClock.now)
            let mfa = try await client.send(.post, "/api/v1/auth/staff/mfa", json: ["mfaToken": mfaToken, "code": code])
            expectTokenHeaders(mfa, "MFA")
            let refreshToken = try #require(try mfa.json()["refreshToken"] as? String)
            let refresh = try await client.send(.post, "/api/v1/auth/refresh", json: ["refreshToken": refreshToken])
            expectTokenHeaders(refresh, "refresh")
            let access = try #require(try refresh.json()["accessToken"] as? String)

            let phone = "13955557777"
            _ = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": phone])
            let otp = String(try #require(sms.messages(to: phone).first?.text.firstMatch(of: /\d{6}/)).output)
            expectTokenHeaders(try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": phone, "code": otp]), "patient login")

            // A refused sign-in is no-store as well.
            let refused = try await client.send(
                .post,
                "/api/v1/auth/staff/login",
                json: ["username": account.username, "password": "not-the-password-1A"]
            )
            #expect(refused.status == .unauthorized && refused.headers[.cacheControl] == "no-store")

            // Every other answer: nosniff, and its own caching left alone.
            for (uri, token) in [
                ("/api/v1/me", Optional(access)), ("/api/v1/districts", access), ("/healthz", nil), ("/api/v1/no-such-route", nil),
                ("/api/v1/keys", nil), ("/cockpit", nil),
            ] {
                let response = try await client.get(uri, token: token)
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(uri) \(response.status)")
                #expect(response.headers[.cacheControl] != "no-store", "\(uri): \(response.headers[.cacheControl] ?? "-")")
            }
            let page = try await client.get("/cockpit", token: nil)
            #expect(page.headers[.cacheControl] == "no-cache" && page.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'self'") == true)
        }
    }

    @Test func metricsNeedTheScrapeCredential() async throws {
        // No credential configured: there is no /metrics to find.
        try await withTestApp(.sqlite) { client in
            let anonymous = try await client.get("/metrics", token: nil)
            let withSomeToken = try await client.get("/metrics", token: "anything-at-all-1234")
            #expect(anonymous.status == .notFound && withSomeToken.status == .notFound)
        }
        let token = "scrape-\(String(repeating: "k", count: 24))"
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.metricsToken = token }
        try await withTestApp(.sqlite, configure: configure) { client in
            let anonymous = try await client.get("/metrics", token: nil)
            #expect(anonymous.status == .unauthorized)
            #expect(try anonymous.apiError().code == "metrics_credential_required")
            #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let longer = try await client.get("/metrics", token: token + "x")
            let shorter = try await client.get("/metrics", token: String(token.dropLast()))
            #expect(longer.status == .unauthorized && shorter.status == .unauthorized)
            let scraped = try await client.get("/metrics", token: token)
            #expect(scraped.status == .ok && String(buffer: scraped.body).contains("hb_requests"))
        }
    }

    @Test func theLimitsAreSettingsWithDefaults() throws {
        let defaults = try AppConfiguration.fromEnvironment([:])
        #expect(defaults.connectionLimits.readTimeout == .seconds(30))
        #expect(defaults.connectionLimits.idleTimeout == .seconds(75))
        #expect(defaults.connectionLimits.maxHeaderBytes == 16 * 1024)
        #expect(defaults.metricsToken == nil)
        let set = try AppConfiguration.fromEnvironment([
            "HEALTHCLOUD_READ_TIMEOUT_SECONDS": "10", "HEALTHCLOUD_IDLE_TIMEOUT_SECONDS": "20",
            "HEALTHCLOUD_MAX_HEADER_BYTES": "8192", "HEALTHCLOUD_METRICS_TOKEN": "0123456789abcdef",
        ])
        #expect(set.connectionLimits.readTimeout == .seconds(10) && set.connectionLimits.idleTimeout == .seconds(20))
        #expect(set.connectionLimits.maxHeaderBytes == 8192 && set.metricsToken == "0123456789abcdef")
        #expect(throws: AppConfiguration.ConfigurationError.self) { try AppConfiguration.fromEnvironment(["HEALTHCLOUD_METRICS_TOKEN": "short"]) }
        #expect(throws: AppConfiguration.ConfigurationError.self) { try AppConfiguration.fromEnvironment(["HEALTHCLOUD_READ_TIMEOUT_SECONDS": "0"]) }
    }
}

/// A raw loopback TCP connection, for what an HTTP client library will not do: stall half-way,
/// sit idle, send a head of any size. Blocking calls run on Dispatch, off the test's executor.
final class RawSocket: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw Failure(description: "connect: errno \(errno)")
        }
    }

    deinit { Glibc.close(fd) }

    /// One request on a connection of its own (`Connection: close`): the status and the body.
    /// Tests with second-long timeouts use it instead of the test client, whose one kept-alive
    /// connection the idle timeout may close between two requests on a loaded machine.
    static func request(
        port: Int,
        _ method: String,
        _ path: String,
        json: [String: Any]? = nil,
        token: String? = nil
    ) async throws -> (status: Int, body: [String: Any]) {
        let body = try json.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) } ?? ""
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n"
        if json != nil { head += "Content-Type: application/json\r\n" }
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        let socket = try RawSocket(port: port)
        try await socket.send(head + "\r\n" + body)
        let (bytes, _) = await socket.readUntilClosed(timeout: .seconds(30))
        let text = String(decoding: bytes, as: UTF8.self)
        guard let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap({ Int($0) }) else {
            throw Failure(description: "no HTTP answer: \(text.prefix(200))")
        }
        let payload = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        let object = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] ?? [:]
        return (status, object)
    }

    func send(_ text: String) async throws {
        let bytes = Array(text.utf8)
        try await Self.offExecutor {
            var offset = 0
            while offset < bytes.count {
                // MSG_NOSIGNAL: a peer that has closed gives EPIPE, not a signal that ends the test run.
                let sent = bytes[offset...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard sent > 0 else { throw Failure(description: "send: errno \(errno)") }
                offset += sent
            }
        }
    }

    /// Reads until the server closes the connection (`closed`), `timeout` passes, or (when given)
    /// what was read so far contains `marker`.
    func readUntilClosed(timeout: Duration, orUntil marker: String? = nil) async -> (bytes: [UInt8], closed: Bool) {
        (try? await Self.offExecutor { self.blockingRead(timeout: timeout, marker: marker.map { Array($0.utf8) }) }) ?? ([], true)
    }

    private func blockingRead(timeout: Duration, marker: [UInt8]?) -> (bytes: [UInt8], closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return (bytes, false) }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(left.components.seconds * 1_000 + left.components.attoseconds / 1_000_000_000_000_000)
            let ready = poll(&descriptor, 1, max(milliseconds, 1))
            if ready == 0 { continue }
            if ready < 0 {
                if errno == EINTR { continue }
                return (bytes, true)
            }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                bytes += buffer[0..<count]
                if let marker, bytes.firstRange(of: marker) != nil { return (bytes, false) }
            } else {
                return (bytes, true)  // 0: an orderly close; < 0: a reset; closed either way
            }
        }
    }

    private static func offExecutor<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}
