import Foundation

/// RFC 6238 time-based one-time passwords (HMAC-SHA-1, 6 digits, 30-second steps): what
/// authenticator apps speak. The HMAC comes from OpenSSL.
public struct TOTP: Sendable {
    public let secret: [UInt8]
    public var digits = 6
    public var period: Int64 = 30

    public init(secret: [UInt8]) {
        self.secret = secret
    }

    /// A new 160-bit secret, the size RFC 4226 recommends.
    public static func generateSecret() -> [UInt8] {
        SecureRandom.bytes(20)
    }

    /// The code for the step containing `date`.
    public func code(at date: Date) -> String {
        code(counter: Int64(date.timeIntervalSince1970.rounded(.down)) / period)
    }

    public func code(counter: Int64) -> String {
        var big = UInt64(bitPattern: counter).bigEndian
        let message = withUnsafeBytes(of: &big) { Array($0) }
        let mac = HMAC.authenticationCode(for: message, key: secret, digest: .sha1)
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary =
            (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    /// The counter `code` matches within ±`window` steps of `date`, or nil.
    /// Callers store the last accepted counter to refuse a replay of the same code.
    public func matchingCounter(for code: String, at date: Date, window: Int64 = 1) -> Int64? {
        guard code.utf8.count == digits, code.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let now = Int64(date.timeIntervalSince1970.rounded(.down)) / period
        for counter in (now - window)...(now + window) where constantTimeEquals(Array(self.code(counter: counter).utf8), Array(code.utf8)) {
            return counter
        }
        return nil
    }

    /// The `otpauth://` URI an authenticator app scans (Key URI Format).
    public func provisioningURI(account: String, issuer: String) -> String {
        var components = URLComponents()
        components.scheme = "otpauth"
        components.host = "totp"
        components.path = "/\(issuer):\(account)"
        components.queryItems = [
            URLQueryItem(name: "secret", value: Base32.encode(secret)),
            URLQueryItem(name: "issuer", value: issuer),
            URLQueryItem(name: "algorithm", value: "SHA1"),
            URLQueryItem(name: "digits", value: String(digits)),
            URLQueryItem(name: "period", value: String(period)),
        ]
        return components.string ?? ""
    }
}

/// RFC 4648 base32 without padding (authenticator apps' secret encoding). No OpenSSL or
/// system library provides it; it is an encoding, not a parser of untrusted structure.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }

    public static func decode(_ string: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in string.uppercased().utf8 where character != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return output
    }
}
