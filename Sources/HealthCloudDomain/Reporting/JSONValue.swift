/// A JSON value with its kind kept exact (a boolean is never a number, an integer is not a
/// float), so report validation can say precisely what was sent.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        if let holder = decoder as? any JSONValueHoldingDecoder {
            self = holder.heldValue
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
            return
        }
        if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
            return
        }
        if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
            return
        }
        if let number = try? container.decode(Double.self) {
            self = .number(number)
            return
        }
        if let string = try? container.decode(String.self) {
            self = .string(string)
            return
        }
        if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
            return
        }
        self = .object(try container.decode([String: JSONValue].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .integer(let i): try container.encode(i)
        case .number(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// What a person would call it, for error messages.
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer(let i): "\(i)"
        case .number(let d): "\(d)"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }
}

/// A decoder that already holds the parsed value it decodes (a request body parsed once), so
/// a `JSONValue` takes it whole. Through any other decoder a `JSONValue` tries each kind in
/// turn, and every failed try throws an error built over the coding path: cubic in the depth.
public protocol JSONValueHoldingDecoder: Decoder {
    var heldValue: JSONValue { get }
}
