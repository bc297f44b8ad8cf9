import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudSync
import HealthCloudTestSupport
import HummingbirdTesting
import NIOCore
import Testing

@testable import HealthCloudApp

/// Request bodies are parsed once (Jansson) with a depth cap, keys byte for byte, and mapped
/// onto the request types with the same errors as before.
@Suite struct JSONTreeTests {
    static func nested(_ depth: Int, open: String = "[", close: String = "]") -> String {
        String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)
    }

    @Test func valuesKeepTheirKinds() throws {
        let value = try JSONTree.parse(Array(#"{"a":[1,-2,2.5,true,null,"x\u0000y"],"b":{"c":9007199254740993}}"#.utf8))
        #expect(
            value
                == .object([
                    "a": .array([.integer(1), .integer(-2), .number(2.5), .bool(true), .null, .string("x\u{0}y")]),
                    "b": .object(["c": .integer(9_007_199_254_740_993)]),
                ])
        )
    }

    @Test func depthIsCappedWithThePathNamed() throws {
        #expect(throws: Never.self) { try JSONTree.parse(Array(Self.nested(JSONTree.maxDepth).utf8)) }
        #expect(throws: JSONTree.Failure.tooDeep(path: String(repeating: "[0]", count: JSONTree.maxDepth))) {
            try JSONTree.parse(Array(Self.nested(JSONTree.maxDepth + 1).utf8))
        }
        // Past Jansson's own limit (2,048) too: refused, not a crash.
        #expect(throws: JSONTree.Failure.tooDeep(path: "")) { try JSONTree.parse(Array(Self.nested(5_000).utf8)) }
        #expect(throws: JSONTree.Failure.self) { try JSONTree.parse(Array(Self.nested(40, open: #"{"k":"#, close: "}").utf8)) }
    }

    @Test(arguments: [
        #"{"a":1,"a":2}"#,  // a duplicate key: which one counts is ambiguous
        "{\"\u{e9}\":1,\"e\u{301}\":2}",  // two keys Swift's String equates: refused, never merged
        "[1,2",
        "01",
        "[1e999]",
    ])
    func ambiguousOrBrokenTextIsRefused(text: String) {
        #expect(throws: JSONTree.Failure.self) { try JSONTree.parse(Array(text.utf8)) }
    }

    /// Valid JSON that Jansson cannot hold is read all the same (Foundation's parser, same cap).
    @Test func integersBeyond64BitsAndNULInKeysAreRead() throws {
        #expect(
            try JSONTree.parse(Array(#"[99999999999999999999,-99999999999999999999,1,true,2.5]"#.utf8))
                == .array([.number(1e20), .number(-1e20), .integer(1), .bool(true), .number(2.5)])
        )
        #expect(
            try JSONTree.parse(Array(#"{"a\u0000b":1,"c":{"d":[null]}}"#.utf8))
                == .object(["a\u{0}b": .integer(1), "c": .object(["d": .array([.null])])])
        )
        #expect(throws: JSONTree.Failure.self) { try JSONTree.parse(Array((#"{"k\u0000":"# + Self.nested(40) + "}").utf8)) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONTree.Failure.self) { try JSONTree.parse([0x22, 0xFF, 0x22] as [UInt8]) }
        #expect(throws: JSONTree.Failure.self) { try JSONTree.parse([0x7B, 0x22, 0xC3, 0x22, 0x3A, 0x31, 0x7D] as [UInt8]) }
    }

    struct Shapes: Decodable, Equatable {
        var count: Int
        var ratio: Double
        var small: UInt8?
        var flag: Bool
        var name: String?
        var tags: [String]
        var extra: JSONValue
    }

    @Test func typedFieldsConvertAsJSONDecoderDoes() throws {
        let text = #"{"count":3,"ratio":2,"flag":false,"tags":["a"],"extra":{"deep":[{"x":1.5}]},"name":null}"#
        let tree = try JSONBody.decode(Shapes.self, from: Array(text.utf8))
        let foundation = try JSONDecoder().decode(Shapes.self, from: Data(text.utf8))
        #expect(tree == foundation)
        #expect(tree.extra == .object(["deep": .array([.object(["x": .number(1.5)])])]))
        for (body, field) in [
            (#"{"count":3.5,"ratio":1,"flag":true,"tags":[],"extra":1}"#, "count"),
            (#"{"count":3,"ratio":1,"flag":true,"tags":[],"extra":1,"small":300}"#, "small"),
            (#"{"count":3,"ratio":1,"flag":1,"tags":[],"extra":1}"#, "flag"),
            (#"{"count":3,"ratio":1,"flag":true,"tags":[2],"extra":1}"#, "tags[0]"),
            (#"{"count":3,"ratio":"1","flag":true,"tags":[],"extra":1}"#, "ratio"),
            (#"{"count":3,"ratio":1,"flag":true,"tags":[]}"#, "extra"),
        ] {
            #expect(throws: APIError.self, "\(body)") { try JSONBody.decode(Shapes.self, from: Array(body.utf8)) }
            do {
                _ = try JSONBody.decode(Shapes.self, from: Array(body.utf8))
            } catch let error as APIError {
                #expect(error.field == field, "\(body): \(error.message)")
            }
        }
    }

    /// The attack of the issue: a self-registered patient's small push nesting arrays a few
    /// hundred levels deep. Before, it was decoded (seconds of CPU); now a 400 names the field.
    @Test(arguments: TestEngine.available)
    func aDeeplyNestedPushIsRefusedAtOnce(engine: TestEngine) async throws {
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, sms: sms) { client in
            let phone = "13600009999"
            _ = try await client.send(.post, "/api/v1/auth/otp", json: ["phone": phone])
            let code = String(try #require(sms.messages(to: phone).last?.text.firstMatch(of: /\d{6}/)).output)
            let login = try await client.send(.post, "/api/v1/auth/patient/login", json: ["phone": phone, "code": code])
            let token = try #require(try login.json()["accessToken"] as? String)
            let body =
                #"{"protocolVersion":1,"clientId":"deep-push-1","mutations":[{"id":1,"name":"submitPreCheck","args":"# + Self.nested(300) + "}]}"
            #expect(body.utf8.count < 2_048)
            let answer = try await client.execute(
                uri: "/api/v1/sync/push",
                method: .post,
                headers: [.authorization: "Bearer \(token)"],
                body: ByteBuffer(string: body)
            ) { $0 }
            #expect(answer.status == .badRequest)
            let error = try answer.apiError()
            #expect(error.code == "json_too_deep" && error.field?.hasPrefix("mutations[0].args") == true, "\(error)")
            // A well-formed push still goes through (its mutation answered on its own).
            let fine = try await client.execute(
                uri: "/api/v1/sync/push",
                method: .post,
                headers: [.authorization: "Bearer \(token)"],
                body: ByteBuffer(
                    string:
                        #"{"protocolVersion":1,"clientId":"deep-push-1","mutations":[{"id":1,"name":"markNotificationRead","args":{"notificationId":999999}}]}"#
                )
            ) { $0 }
            #expect(fine.status == .ok, "\(String(buffer: fine.body))")
            #expect(try fine.json()["results"] as? [[String: Any]] != nil)
        }
    }
}
