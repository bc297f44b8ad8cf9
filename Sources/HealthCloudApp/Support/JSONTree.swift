import CJansson
import Foundation
import HealthCloudDomain

/// Request bodies parsed once by the system's Jansson into a `JSONValue`: a cost linear in the
/// input, a nesting depth capped far below Foundation's 512, object keys kept byte for byte
/// (two keys that differ in bytes stay two keys) and duplicate keys refused.
enum JSONTree {
    /// The deepest nesting a request body may have. The deepest legitimate body (a sync push
    /// whose mutation carries a pre-check) nests 5 levels.
    static let maxDepth = 32
    /// For the server's own stored records (sync records, cached cockpit bodies), read on every
    /// pull with the same one-pass parser: Foundation's limit, since nothing here is untrusted.
    static let storedMaxDepth = 512

    enum Failure: Error, Equatable {
        /// Not JSON (or a duplicate key, or an integer out of range), with Jansson's reason.
        case invalid(String)
        /// Nested deeper than `maxDepth`, at this JSON path.
        case tooDeep(path: String)
    }

    static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = maxDepth) throws(Failure) -> JSONValue {
        let parsed: Result<JSONValue, Failure>? = bytes.withContiguousStorageIfAvailable { buffer in
            parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth)
        }
        let result = parsed ?? Array(bytes).withUnsafeBytes { parse($0, maxDepth: maxDepth) }
        return try result.get()
    }

    private static func parse(_ buffer: UnsafeRawBufferPointer, maxDepth: Int) -> Result<JSONValue, Failure> {
        var error = json_error_t()
        // A bare scalar is a JSON text too (RFC 8259); NUL inside strings is data, refused
        // later by the fields that cannot hold it.
        let flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: CChar.self) else { return .failure(.invalid("the text is empty")) }
        guard let root = json_loadb(base, buffer.count, Int(flags), &error) else {
            let reason = withUnsafeBytes(of: error.text) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if reason.hasPrefix("maximum parsing depth") { return .failure(.tooDeep(path: "")) }
            // Valid JSON that Jansson cannot hold: an integer beyond 64 bits, a NUL in a key.
            // Foundation's JSONSerialization (a linear tree parser too) reads those rare texts.
            if reason.hasPrefix("too big") || reason.hasPrefix("NUL byte in object key") {
                return parseWithFoundation(buffer, maxDepth: maxDepth, reason: reason)
            }
            return .failure(.invalid("\(reason) (line \(error.line), column \(error.column))"))
        }
        defer { json_decref(root) }
        var path: [PathElement] = []
        return convert(root, depth: 0, maxDepth: maxDepth, path: &path)
    }

    private static func parseWithFoundation(_ buffer: UnsafeRawBufferPointer, maxDepth: Int, reason: String) -> Result<JSONValue, Failure> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer), options: [.fragmentsAllowed]) else {
            return .failure(.invalid(reason))
        }
        var path: [PathElement] = []
        return convert(foundation: object, depth: 0, maxDepth: maxDepth, path: &path)
    }

    private static func convert(foundation node: Any, depth: Int, maxDepth: Int, path: inout [PathElement]) -> Result<JSONValue, Failure> {
        switch node {
        case is NSNull: return .success(.null)
        case let text as String: return .success(.string(text))
        case let number as NSNumber:
            switch String(cString: number.objCType) {
            case "c", "B": return .success(.bool(number.boolValue))
            case "d", "f": return .success(.number(number.doubleValue))
            case "Q" where number.uint64Value > UInt64(Int64.max): return .success(.number(number.doubleValue))
            default: return .success(.integer(number.int64Value))
            }
        case let items as [Any]:
            guard depth < maxDepth else { return .failure(.tooDeep(path: describe(path))) }
            var values: [JSONValue] = []
            for (index, item) in items.enumerated() {
                path.append(.index(index))
                defer { path.removeLast() }
                switch convert(foundation: item, depth: depth + 1, maxDepth: maxDepth, path: &path) {
                case .success(let value): values.append(value)
                case .failure(let failure): return .failure(failure)
                }
            }
            return .success(.array(values))
        case let members as [String: Any]:
            guard depth < maxDepth else { return .failure(.tooDeep(path: describe(path))) }
            var values: [String: JSONValue] = [:]
            for (key, member) in members {
                path.append(.key(key))
                defer { path.removeLast() }
                switch convert(foundation: member, depth: depth + 1, maxDepth: maxDepth, path: &path) {
                case .success(let value): values[key] = value
                case .failure(let failure): return .failure(failure)
                }
            }
            return .success(.object(values))
        default:
            return .failure(.invalid("unknown JSON node"))
        }
    }

    private enum PathElement {
        case key(String)
        case index(Int)
    }

    private static func describe(_ path: [PathElement]) -> String {
        var text = ""
        for element in path {
            switch element {
            case .index(let index): text += "[\(index)]"
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            }
        }
        return text
    }

    private static func convert(
        _ node: UnsafeMutablePointer<json_t>,
        depth: Int,
        maxDepth: Int,
        path: inout [PathElement]
    ) -> Result<JSONValue, Failure> {
        switch node.pointee.type {
        case JSON_NULL: return .success(.null)
        case JSON_TRUE: return .success(.bool(true))
        case JSON_FALSE: return .success(.bool(false))
        case JSON_INTEGER: return .success(.integer(Int64(json_integer_value(node))))
        case JSON_REAL: return .success(.number(json_real_value(node)))
        case JSON_STRING:
            let bytes = UnsafeRawBufferPointer(start: json_string_value(node), count: json_string_length(node))
            return .success(.string(String(decoding: bytes, as: UTF8.self)))
        case JSON_ARRAY:
            guard depth < maxDepth else { return .failure(.tooDeep(path: describe(path))) }
            let count = json_array_size(node)
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for index in 0..<count {
                path.append(.index(index))
                defer { path.removeLast() }
                switch convert(json_array_get(node, index), depth: depth + 1, maxDepth: maxDepth, path: &path) {
                case .success(let item): items.append(item)
                case .failure(let failure): return .failure(failure)
                }
            }
            return .success(.array(items))
        case JSON_OBJECT:
            guard depth < maxDepth else { return .failure(.tooDeep(path: describe(path))) }
            var members: [String: JSONValue] = [:]
            members.reserveCapacity(json_object_size(node))
            var iterator = json_object_iter(node)
            while let current = iterator {
                let keyBytes = UnsafeRawBufferPointer(start: json_object_iter_key(current), count: json_object_iter_key_len(current))
                let key = String(decoding: keyBytes, as: UTF8.self)
                path.append(.key(key))
                defer { path.removeLast() }
                switch convert(json_object_iter_value(current), depth: depth + 1, maxDepth: maxDepth, path: &path) {
                case .success(let value):
                    // Keys that differ in bytes but that Swift's String equates (canonical
                    // equivalence, "é" and "e\u{301}") would merge here: refuse them as ambiguous.
                    if members.updateValue(value, forKey: key) != nil {
                        return .failure(
                            .invalid("the object at \(describe(path.dropLast())) has two keys that are canonically equivalent to \"\(key)\"")
                        )
                    }
                case .failure(let failure): return .failure(failure)
                }
                iterator = json_object_iter_next(node, current)
            }
            return .success(.object(members))
        default:
            return .failure(.invalid("unknown JSON node"))
        }
    }
}

/// Decodes `Decodable` types from a parsed `JSONValue` with the same errors (and so the same
/// field paths) as Foundation's `JSONDecoder`. A `JSONValue` field takes its subtree whole.
struct JSONTreeDecoder: JSONValueHoldingDecoder {
    let heldValue: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ value: JSONValue, codingPath: [any CodingKey] = []) {
        heldValue = value
        self.codingPath = codingPath
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try T(from: JSONTreeDecoder(value))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = heldValue else {
            throw Self.mismatch([String: Any].self, heldValue, codingPath)
        }
        return KeyedDecodingContainer(Keyed<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = heldValue else {
            throw Self.mismatch([Any].self, heldValue, codingPath)
        }
        return Unkeyed(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(value: heldValue, codingPath: codingPath) }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        .typeMismatch(type, .init(codingPath: path, debugDescription: "Expected to decode \(type) but found \(value.kindDescription) instead."))
    }

    /// Scalars, converted as `JSONDecoder` converts them: integers exactly, a fraction never
    /// into an integer, an integer into a floating-point number.
    static func unbox<T>(_ value: JSONValue, as type: T.Type, path: [any CodingKey]) throws -> T {
        if case .null = value {
            throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "Expected \(type) value but found null instead."))
        }
        let result: Any? =
            switch (value, type) {
            case (.bool(let flag), is Bool.Type): flag
            case (.string(let text), is String.Type): text
            case (.integer(let number), is Double.Type): Double(number)
            case (.number(let number), is Double.Type): number
            case (.integer(let number), is Float.Type): Float(number)
            case (.number(let number), is Float.Type): Float(number)
            case (.integer(let number), let integer as any FixedWidthInteger.Type): integer.init(exactly: number)
            case (.number(let number), let integer as any FixedWidthInteger.Type): integer.init(exactly: number)
            default: nil
            }
        if let result = result as? T { return result }
        switch (value, type) {
        case (.integer, is any FixedWidthInteger.Type), (.number, is any FixedWidthInteger.Type):
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "Number \(value.kindDescription) does not fit in \(type)."))
        default:
            throw mismatch(type, value, path)
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, path: [any CodingKey]) throws -> T {
        switch type {
        case is String.Type, is Bool.Type, is Double.Type, is Float.Type, is any FixedWidthInteger.Type:
            return try unbox(value, as: type, path: path)
        default:
            return try T(from: JSONTreeDecoder(value, codingPath: path))
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let members: [String: JSONValue]
        let codingPath: [any CodingKey]

        var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

        func value(_ key: Key) throws -> JSONValue {
            guard let value = members[key.stringValue] else {
                throw DecodingError.keyNotFound(
                    key,
                    .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue).")
                )
            }
            return value
        }

        func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try JSONTreeDecoder.decode(type, from: try value(key), path: codingPath + [key])
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try JSONTreeDecoder(try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try JSONTreeDecoder(try value(key), codingPath: codingPath + [key]).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            JSONTreeDecoder(members["super"] ?? .null, codingPath: codingPath)
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            JSONTreeDecoder(members[key.stringValue] ?? .null, codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0

        init(items: [JSONValue], codingPath: [any CodingKey]) {
            self.items = items
            self.codingPath = codingPath
        }

        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        struct Index: CodingKey {
            var intValue: Int?
            var stringValue: String { "Index \(intValue ?? 0)" }
            init(_ index: Int) { intValue = index }
            init?(stringValue: String) { nil }
            init?(intValue: Int) { self.intValue = intValue }
        }

        private var path: [any CodingKey] { codingPath + [Index(currentIndex)] }

        private func next<T>(_ type: T.Type) throws -> JSONValue {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "Unkeyed container is at end."))
            }
            return items[currentIndex]
        }

        mutating func decodeNil() throws -> Bool {
            guard try next(Any?.self) == .null else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let value = try JSONTreeDecoder.decode(type, from: try next(type), path: path)
            currentIndex += 1
            return value
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let container = try JSONTreeDecoder(try next(type), codingPath: path).container(keyedBy: type)
            currentIndex += 1
            return container
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let container = try JSONTreeDecoder(try next([Any].self), codingPath: path).unkeyedContainer()
            currentIndex += 1
            return container
        }

        mutating func superDecoder() throws -> any Decoder {
            let decoder = JSONTreeDecoder(try next(Any.self), codingPath: path)
            currentIndex += 1
            return decoder
        }
    }

    struct Single: SingleValueDecodingContainer {
        let value: JSONValue
        let codingPath: [any CodingKey]

        func decodeNil() -> Bool { value == .null }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONTreeDecoder.decode(type, from: value, path: codingPath)
        }
    }
}
