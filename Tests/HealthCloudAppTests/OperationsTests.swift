import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudTestSupport
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct OperationsTests {
    @Test(arguments: TestEngine.available)
    func healthAndReadinessAnswer(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            try await client.execute(uri: "/healthz", method: .get) { response throws in
                #expect(response.status == .ok)
                #expect(try response.json()["status"] as? String == "ok")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            }
            try await client.execute(uri: "/readyz", method: .get) { response throws in
                #expect(response.status == .ok)
                let body = try response.json()
                #expect(body["status"] as? String == "ready")
                #expect(body["database"] as? String == engine.rawValue)
            }
        }
    }

    @Test func everyResponseCarriesARequestID() async throws {
        try await withTestApp(.sqlite) { client in
            var seen: Set<String> = []
            for uri in ["/healthz", "/nowhere", "/api/v1/campuses/abc"] {
                try await client.execute(uri: uri, method: .get) { response throws in
                    let id = try #require(response.headers[HTTPField.Name("X-Request-ID")!])
                    #expect(!id.isEmpty)
                    seen.insert(id)
                }
            }
            #expect(seen.count == 3, "ids are unique per request")
            // A sane caller id is kept; one that could forge log lines is replaced.
            try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("X-Request-ID")!: "kiosk-7.req_42"]) { response throws in
                #expect(response.headers[HTTPField.Name("X-Request-ID")!] == "kiosk-7.req_42")
            }
            try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("X-Request-ID")!: "x\"}{\"level\":\"error"]) {
                response throws in
                #expect(response.headers[HTTPField.Name("X-Request-ID")!] != "x\"}{\"level\":\"error")
            }
        }
    }

    @Test func unknownRoutesGetTheErrorShape() async throws {
        try await withTestApp(.sqlite) { client in
            try await client.execute(uri: "/api/v1/nothing-here", method: .get) { response throws in
                #expect(response.status == .notFound)
                let error = try response.apiError()
                #expect(error.code == "not_found")
                #expect(error.message.contains("/api/v1/nothing-here"))
            }
            try await client.execute(uri: "/healthz", method: .delete) { response throws in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD")
                #expect(try response.apiError().code == "method_not_allowed")
            }
            try await client.execute(uri: "/api/v1/campuses/12", method: .put) { response throws in
                #expect(response.status == .methodNotAllowed)
                #expect(try response.apiError().code == "method_not_allowed")
            }
            try await client.execute(uri: "/api/v1/districts", method: .head) { response throws in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func oversizedBodiesAre413WithTheErrorShape() async throws {
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.maxBodySize = 4096 }
        try await withTestApp(.sqlite, mode: .live, configure: configure) { client in
            let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: 5000)
            try await client.execute(uri: "/api/v1/districts", method: .post, body: big) { response throws in
                #expect(response.status == .contentTooLarge)
                #expect(try response.apiError().code == "payload_too_large")
            }
            let small = ByteBuffer(repeating: UInt8(ascii: "x"), count: 100)
            try await client.execute(uri: "/api/v1/districts", method: .post, body: small) { response throws in
                #expect(response.status != .contentTooLarge)
            }
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        let configure: @Sendable (inout AppConfiguration) -> Void = { $0.metricsToken = "scrape-token-0123456789" }
        try await withTestApp(.sqlite, configure: configure) { client in
            for _ in 0..<3 { try await client.execute(uri: "/healthz", method: .get) { _ in } }
            try await client.execute(uri: "/api/v1/campuses/0", method: .get) { _ in }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer scrape-token-0123456789"]) { response throws in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(buffer: response.body)
                let healthLine = text.split(separator: "\n").first {
                    $0.hasPrefix("hb_requests{") && $0.contains(#"http_route="/healthz""#) && $0.contains(#"http_response_status_code="200""#)
                }
                let count = healthLine.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
                #expect(count >= 3)
                #expect(text.contains(#"http_route="/api/v1/campuses/{id}""#) && text.contains(#"http_response_status_code="400""#))
                #expect(text.contains("http_server_request_duration_bucket{"))
            }
        }
    }
}
