import Foundation
import HTTPTypes
import HealthCloudStorage
import HealthCloudTestSupport
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HealthCloudApp

/// How request bodies are read: malformed JSON is `invalid_json`, and a wrong or missing
/// field is named by its JSON path.
@Suite struct JSONBodyTests {
    struct Order: Decodable {
        struct Line: Decodable {
            var code: String
            var quantity: Int
        }

        var campusId: Int
        var lines: [Line]
    }

    @Test(
        arguments: [
            ("{not json", "invalid_json", nil),
            ("", "invalid_json", nil),
            (#"{"lines":[]}"#, "missing_field", "campusId"),
            (#"{"campusId":"7","lines":[]}"#, "invalid_field", "campusId"),
            (#"{"campusId":7,"lines":[{"code":"N95","quantity":"many"}]}"#, "invalid_field", "lines[0].quantity"),
            (#"{"campusId":7,"lines":[{"code":"N95","quantity":1},{"quantity":2}]}"#, "missing_field", "lines[1].code"),
            (#"[1,2]"#, "invalid_field", nil),
        ] as [(String, String, String?)]
    )
    func decodeErrorsNameTheField(body: String, code: String, field: String?) {
        #expect {
            _ = try JSONBody.decode(Order.self, from: Data(body.utf8))
        } throws: { error in
            guard let error = error as? APIError else { return false }
            return error.status == .badRequest && error.code == code && error.field == field
        }
    }

    @Test func aWellFormedBodyDecodes() throws {
        let order = try JSONBody.decode(Order.self, from: Data(#"{"campusId":7,"lines":[{"code":"N95","quantity":3}]}"#.utf8))
        #expect(order.campusId == 7 && order.lines.first?.quantity == 3)
    }

    /// Over a real socket, through the application's middleware: a route that reads JSON.
    @Test func malformedJSONOverHTTPIsA400WithTheErrorShape() async throws {
        let (router, registry) = try buildRouter(
            AppConfiguration(maxBodySize: 1024),
            dependencies: AppDependencies(database: try await Self.scratchDatabase(), clock: .test, sms: DevSMSSink())
        )
        Routes(router: router, prefix: "", registry: registry).post("test/orders", .open) { request, context -> Response in
            let order = try await JSONBody.decode(Order.self, from: request, context: context)
            return try JSONResponse.encode(["campusId": order.campusId])
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await client.execute(uri: "/test/orders", method: .post, body: ByteBuffer(string: "{\"campusId\": 7,")) { response throws in
                #expect(response.status == .badRequest)
                #expect(try response.apiError().code == "invalid_json")
            }
            try await client.execute(uri: "/test/orders", method: .post, body: ByteBuffer(string: #"{"campusId":7,"lines":[]}"#)) { response throws in
                #expect(response.status == .ok)
            }
            // Chunked (no Content-Length): the route stops reading at the limit.
            let big = ByteBuffer(repeating: UInt8(ascii: " "), count: 4096)
            try await client.execute(uri: "/test/orders", method: .post, headers: [.transferEncoding: "chunked"], body: big) { response throws in
                #expect(response.status == .contentTooLarge)
                #expect(try response.apiError().code == "payload_too_large")
            }
        }
    }

    static func scratchDatabase() async throws -> HealthCloudStorage.AppDatabase {
        let location = try await TestDatabase.freshLocation(.sqlite)
        return try HealthCloudStorage.AppDatabase.open(location, logger: TestDatabase.logger, keys: TestDatabase.keys)
    }
}
