import Foundation
import HealthCloudDomain

/// The canonical JSON text of a value (RFC 8785 / JCS, for the values sync records carry):
/// object keys sorted by UTF-16 code units, no whitespace, strings escaped as ECMAScript's
/// `JSON.stringify` does, integers in decimal. The page digest is taken over these bytes, so
/// every client language must produce exactly them; records therefore carry fractional numbers
/// as decimal strings. (A fraction, if one slips in, is written in Swift's shortest form.)
public enum CanonicalJSON {
    public static func string(_ value: JSONValue) -> String {
        var output = ""
        write(value, to: &output)
        return output
    }

    public static func bytes(_ value: JSONValue) -> [UInt8] {
        Array(string(value).utf8)
    }

    static func write(_ value: JSONValue, to output: inout String) {
        switch value {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .integer(let number): output += String(number)
        case .number(let number):
            if number.rounded() == number, abs(number) < 9_007_199_254_740_992 { output += String(Int64(number)) } else { output += "\(number)" }
        case .string(let text): writeString(text, to: &output)
        case .array(let items):
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += "," }
                write(item, to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, key) in members.keys.sorted(by: { $0.utf16.lexicographicallyPrecedes($1.utf16) }).enumerated() {
                if index > 0 { output += "," }
                writeString(key, to: &output)
                output += ":"
                write(members[key]!, to: &output)
            }
            output += "}"
        }
    }

    static let hexDigits = Array("0123456789abcdef")

    static func writeString(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case let control where control.value < 0x20:
                output += "\\u00" + String(hexDigits[Int(control.value >> 4)]) + String(hexDigits[Int(control.value & 0xF)])
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

extension JSONValue {
    /// The same value with every fractional number as a decimal string (records carry them so).
    public var decimalsAsStrings: JSONValue {
        switch self {
        case .number(let number):
            if number.rounded() == number, abs(number) < 9_007_199_254_740_992 { return .integer(Int64(number)) }
            var text = "\(number)"
            if text.contains("e") { text = String(format: "%.6f", number) }
            return .string(text)
        case .array(let items): return .array(items.map(\.decimalsAsStrings))
        case .object(let members): return .object(members.mapValues(\.decimalsAsStrings))
        default: return self
        }
    }
}
