/// A value crossing the storage boundary. Both engines speak exactly these five kinds,
/// which is what lets one repository run unchanged on SQLite and PostgreSQL.
enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension SQLValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByNilLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension SQLValue {
    public init(_ value: Int) { self = .integer(Int64(value)) }
    public init(_ value: Int64) { self = .integer(value) }
    public init(_ value: Double) { self = .real(value) }
    public init(_ value: String) { self = .text(value) }
    public init(_ value: Bool) { self = .integer(value ? 1 : 0) }
    public init(_ value: [UInt8]) { self = .blob(value) }
    public init<T>(_ value: T?, _ wrap: (T) -> SQLValue) { self = value.map(wrap) ?? .null }
}

/// One result row. Column lookup is by name; the typed accessors throw
/// ``DatabaseError/decoding(column:expected:found:)`` instead of trapping.
struct SQLRow: Sendable {
    /// The column names and a name → position map, shared by every row of one result.
    public final class Columns: Sendable {
        public let names: [String]
        let positions: [String: Int]

        public init(_ names: [String]) {
            self.names = names
            var positions: [String: Int] = [:]
            for (index, name) in names.enumerated() where positions[name] == nil { positions[name] = index }
            self.positions = positions
        }
    }

    let shared: Columns
    public let values: [SQLValue]

    public var columns: [String] { shared.names }

    public init(columns: Columns, values: [SQLValue]) {
        self.shared = columns
        self.values = values
    }

    public init(columns: [String], values: [SQLValue]) {
        self.init(columns: Columns(columns), values: values)
    }

    public subscript(_ column: String) -> SQLValue {
        guard let index = shared.positions[column] else { return .null }
        return values[index]
    }

    public func int(_ column: String) throws -> Int {
        Int(try int64(column))
    }

    public func int64(_ column: String) throws -> Int64 {
        switch self[column] {
        case .integer(let v): return v
        case .real(let v) where v.rounded() == v && abs(v) < 9.2e18: return Int64(v)
        case .text(let s) where Int64(s) != nil: return Int64(s)!
        case let other: throw DatabaseError.decoding(column: column, expected: "integer", found: other.kind)
        }
    }

    public func optionalInt(_ column: String) throws -> Int? {
        if case .null = self[column] { return nil }
        return try int(column)
    }

    public func double(_ column: String) throws -> Double {
        switch self[column] {
        case .real(let v): return v
        case .integer(let v): return Double(v)
        case .text(let s) where Double(s) != nil: return Double(s)!
        case let other: throw DatabaseError.decoding(column: column, expected: "real", found: other.kind)
        }
    }

    public func optionalDouble(_ column: String) throws -> Double? {
        if case .null = self[column] { return nil }
        return try double(column)
    }

    public func string(_ column: String) throws -> String {
        switch self[column] {
        case .text(let s): return s
        case let other: throw DatabaseError.decoding(column: column, expected: "text", found: other.kind)
        }
    }

    public func optionalString(_ column: String) throws -> String? {
        if case .null = self[column] { return nil }
        return try string(column)
    }

    public func bool(_ column: String) throws -> Bool {
        try int64(column) != 0
    }

    public func blob(_ column: String) throws -> [UInt8] {
        switch self[column] {
        case .blob(let b): return b
        case let other: throw DatabaseError.decoding(column: column, expected: "blob", found: other.kind)
        }
    }
}

extension SQLValue {
    var kind: String {
        switch self {
        case .null: "null"
        case .integer: "integer"
        case .real: "real"
        case .text: "text"
        case .blob: "blob"
        }
    }
}
