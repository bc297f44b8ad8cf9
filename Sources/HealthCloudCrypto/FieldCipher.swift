/// Short-field encryption with integrity: SM4-CBC (PKCS#7) with a random 16-byte IV, then
/// HMAC-SM3 over (version ‖ key id ‖ IV ‖ ciphertext) — encrypt-then-MAC, so nothing is
/// decrypted before it is authenticated. The envelope is ASCII text,
/// `v1.<keyID>.<base64url(iv‖ciphertext‖mac)>` (base64url without padding), so it fits a TEXT
/// column and names the key it needs (rotation). The MAC input is the ASCII header
/// `"v1.<keyID>."` followed by the IV and the ciphertext; key ids contain no `.`, so the
/// header is unambiguous. Keys: the SM4 key is the first 16 bytes of
/// HMAC-SM3(master, "healthcloud/sm4-enc"), the 32-byte MAC key is HMAC-SM3(master, "healthcloud/sm4-mac").
public struct FieldCipher: Sendable {
    public let keyID: String
    private let encryptionKey: [UInt8]
    private let macKey: [UInt8]

    static let version = "v1"
    static let ivSize = 16
    static let macSize = 32

    /// `masterKey` must be 32 bytes; `keyID` must match `[A-Za-z0-9_-]{1,32}`.
    public init(keyID: String, masterKey: [UInt8]) throws {
        guard Self.isValidKeyID(keyID) else {
            throw CryptoError.invalidKey("key id must match [A-Za-z0-9_-]{1,32}")
        }
        guard masterKey.count == 32 else {
            throw CryptoError.invalidKey("field master key must be 32 bytes, got \(masterKey.count)")
        }
        self.keyID = keyID
        // Separate keys per purpose: never use one key for both SM4 and HMAC.
        encryptionKey = Array(HMAC.authenticationCode(for: Array("healthcloud/sm4-enc".utf8), key: masterKey).prefix(16))
        macKey = HMAC.authenticationCode(for: Array("healthcloud/sm4-mac".utf8), key: masterKey)
    }

    public func seal(_ plaintext: some Collection<UInt8>) throws -> String {
        let iv = SecureRandom.bytes(Self.ivSize)
        let ciphertext = try SM4.cbc(encrypt: true, plaintext, key: encryptionKey, iv: iv)
        let header = Self.header(keyID)
        let mac = HMAC.authenticationCode(for: Array(header.utf8) + iv + ciphertext, key: macKey)
        return header + Base64URL.encode(iv + ciphertext + mac)
    }

    /// Throws `invalidEnvelope` for a malformed envelope (syntax, version, length),
    /// `unknownKeyID` if it names another key id, `authenticationFailed` if the MAC does not verify.
    public func open(_ envelope: String) throws -> [UInt8] {
        let parsed = try Self.parse(envelope)
        guard parsed.keyID == keyID else { throw CryptoError.unknownKeyID(parsed.keyID) }
        let payload = parsed.payload
        let macStart = payload.count - Self.macSize
        let iv = payload[..<Self.ivSize]
        let ciphertext = payload[Self.ivSize..<macStart]
        let expected = HMAC.authenticationCode(for: Array(Self.header(keyID).utf8) + iv + ciphertext, key: macKey)
        guard constantTimeEquals(expected, payload[macStart...]) else { throw CryptoError.authenticationFailed }
        do {
            return try SM4.cbc(encrypt: false, ciphertext, key: encryptionKey, iv: Array(iv))
        } catch {
            // Unreachable unless the MAC key leaked: a bad padding under a valid MAC.
            throw CryptoError.authenticationFailed
        }
    }

    public func seal(_ text: String) throws -> String {
        try seal(text.utf8)
    }

    /// Throws `invalidEnvelope` if the authenticated plaintext is not UTF-8 (it was sealed as bytes).
    public func openString(_ envelope: String) throws -> String {
        let bytes = try open(envelope)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CryptoError.invalidEnvelope("plaintext is not UTF-8")
        }
        return text
    }

    // MARK: - Envelope syntax

    struct ParsedEnvelope {
        let keyID: String
        /// iv ‖ ciphertext ‖ mac, with lengths already checked.
        let payload: [UInt8]
    }

    static func header(_ keyID: String) -> String { "\(version).\(keyID)." }

    /// Syntax only (no key needed): version, key id form, base64url, lengths.
    static func parse(_ envelope: String) throws -> ParsedEnvelope {
        let parts = envelope.utf8.split(separator: UInt8(ascii: "."), maxSplits: 3, omittingEmptySubsequences: false)
        guard let first = parts.first, String(decoding: first, as: UTF8.self) == version else {
            throw CryptoError.invalidEnvelope("not a \(version) envelope")
        }
        guard parts.count == 3 else { throw CryptoError.invalidEnvelope("expected v1.<keyID>.<payload>") }
        let keyID = String(decoding: parts[1], as: UTF8.self)
        guard isValidKeyID(keyID) else { throw CryptoError.invalidEnvelope("malformed key id") }
        guard let payload = Base64URL.decode(String(decoding: parts[2], as: UTF8.self)) else {
            throw CryptoError.invalidEnvelope("payload is not base64url")
        }
        let ciphertextLength = payload.count - ivSize - macSize
        guard ciphertextLength >= SM4.blockSize, ciphertextLength % SM4.blockSize == 0 else {
            throw CryptoError.invalidEnvelope("payload has an impossible length (\(payload.count) bytes)")
        }
        return ParsedEnvelope(keyID: keyID, payload: payload)
    }

    static func isValidKeyID(_ keyID: String) -> Bool {
        let bytes = keyID.utf8
        guard (1...32).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}

/// Printing a cipher (logs, `dump`, string interpolation) shows only its key id, never key bytes.
extension FieldCipher: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "FieldCipher(keyID: \(keyID))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["keyID": keyID]) }
}

/// Several `FieldCipher`s by key id: seals with `current`, opens with whichever key id the
/// envelope names, so stored fields stay readable while keys rotate.
public struct FieldKeyring: Sendable {
    public let current: FieldCipher
    private let ciphers: [String: FieldCipher]

    /// If key ids repeat, `current` wins, then the first retired cipher with that id.
    public init(current: FieldCipher, retired: [FieldCipher] = []) {
        self.current = current
        var ciphers: [String: FieldCipher] = [current.keyID: current]
        for cipher in retired where ciphers[cipher.keyID] == nil {
            ciphers[cipher.keyID] = cipher
        }
        self.ciphers = ciphers
    }

    public func seal(_ text: String) throws -> String {
        try current.seal(text)
    }

    /// The key ids this ring can open, current first (for logs and health checks; no key bytes).
    var keyIDs: [String] { [current.keyID] + ciphers.keys.filter { $0 != current.keyID }.sorted() }

    /// Throws `unknownKeyID` if no cipher in the ring has the envelope's key id.
    public func openString(_ envelope: String) throws -> String {
        let keyID = try FieldCipher.parse(envelope).keyID
        guard let cipher = ciphers[keyID] else { throw CryptoError.unknownKeyID(keyID) }
        return try cipher.openString(envelope)
    }
}

extension FieldKeyring: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "FieldKeyring(keyIDs: \(keyIDs))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["keyIDs": keyIDs]) }
}
