import Foundation
import HealthCloudApp
import HealthCloudDemo
import HealthCloudStorage
import HealthCloudTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// Runs `body` against the real application (composition root, middleware, storage) on a
/// fresh database of `engine`, in process (`.router`) or over a loopback socket (`.live`).
func withTestApp<T: Sendable>(
    _ engine: TestEngine,
    demo: Bool = false,
    mode: TestingSetup = .router,
    configure: @Sendable (inout AppConfiguration) -> Void = { _ in },
    test: String = #function,
    _ body: @Sendable (any TestClientProtocol) async throws -> T
) async throws -> T {
    print("app test \(test) on \(engine.rawValue)")
    let location = try await TestDatabase.freshLocation(engine)
    var configuration = AppConfiguration(hostname: "127.0.0.1", port: 0, database: location, demo: demo, logLevel: .warning)
    configure(&configuration)
    let app = try buildApplication(
        configuration,
        logger: TestDatabase.logger,
        hooks: AppHooks(prepare: { database in
            guard demo else { return }
            _ = try await DemoPipeline.standard.run(DemoContext(database: database, reference: try ReferenceData.bundled()))
        })
    )
    do {
        let result = try await app.test(mode, body)
        try? await TestDatabase.drop(location)
        return result
    } catch {
        try? await TestDatabase.drop(location)
        throw error
    }
}

extension TestResponse {
    /// The body parsed as a JSON object.
    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        guard let dictionary = object as? [String: Any] else { throw TestResponseError("body is not a JSON object: \(String(buffer: body))") }
        return dictionary
    }

    /// `(code, field)` of an API error body, which must have exactly the documented shape.
    func apiError() throws -> (code: String, message: String, field: String?) {
        let object = try json()
        guard object.count == 1, let error = object["error"] as? [String: Any],
              let code = error["code"] as? String, let message = error["message"] as? String,
              Set(error.keys).isSubset(of: ["code", "message", "field"])
        else { throw TestResponseError("not an API error body: \(String(buffer: body))") }
        return (code, message, error["field"] as? String)
    }
}

struct TestResponseError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
