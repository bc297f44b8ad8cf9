import HealthCloudCrypto
import Testing

@Suite struct FieldCipherTests {
    static let master = [UInt8](0..<32)

    static func cipher(_ keyID: String = "k2024", master: [UInt8] = master) throws -> FieldCipher {
        try FieldCipher(keyID: keyID, masterKey: master)
    }

    /// The envelope with one decoded payload byte changed, re-encoded canonically.
    static func flippingPayloadByte(_ envelope: String, at index: Int) throws -> String {
        let dot = try #require(envelope.lastIndex(of: "."))
        var payload = try #require(Base64URL.decode(String(envelope[envelope.index(after: dot)...])))
        payload[index] ^= 0x01
        return String(envelope[...dot]) + Base64URL.encode(payload)
    }

    static func expectError(_ expected: CryptoError, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected \(expected), but nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as CryptoError {
            switch (error, expected) {
            case (.authenticationFailed, .authenticationFailed), (.invalidEnvelope, .invalidEnvelope),
                (.unknownKeyID, .unknownKeyID), (.invalidKey, .invalidKey), (.openssl, .openssl):
                break
            default:
                Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected \(expected), got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ["hello, world", "上海市第六人民医院 发热门诊 张三", "", String(repeating: "0123456789abcdef", count: 64)])
    func roundTrip(text: String) throws {
        let cipher = try Self.cipher()
        let envelope = try cipher.seal(text)
        #expect(envelope.hasPrefix("v1.k2024."))
        #expect(envelope.allSatisfy { $0.isASCII })
        #expect(try cipher.openString(envelope) == text)
        #expect(try cipher.open(envelope) == Array(text.utf8))
    }

    @Test func bytesRoundTripAndLengthGrowsByBlocks() throws {
        let cipher = try Self.cipher()
        for count in [0, 1, 15, 16, 17, 1024] {
            let plain = SecureRandom.bytes(count)
            let envelope = try cipher.seal(plain)
            #expect(try cipher.open(envelope) == plain)
            let payload = try #require(Base64URL.decode(String(envelope.split(separator: ".")[2])))
            #expect(payload.count == 16 + (count / 16 + 1) * 16 + 32)
        }
    }

    @Test func sealingTwiceGivesDifferentEnvelopes() throws {
        let cipher = try Self.cipher()
        let a = try cipher.seal("same text")
        let b = try cipher.seal("same text")
        #expect(a != b)
        #expect(try cipher.openString(a) == cipher.openString(b))
    }

    @Test func sameMasterKeyInteroperatesAcrossInstances() throws {
        let envelope = try Self.cipher().seal("shared")
        #expect(try Self.cipher().openString(envelope) == "shared")
    }

    @Test func everyFlippedPayloadByteFailsAuthentication() throws {
        let cipher = try Self.cipher()
        let envelope = try cipher.seal("patient 13800138000")
        let payloadCount = try #require(Base64URL.decode(String(envelope.split(separator: ".")[2]))).count
        for index in 0..<payloadCount {  // IV, ciphertext and MAC alike
            let tampered = try Self.flippingPayloadByte(envelope, at: index)
            Self.expectError(.authenticationFailed) { _ = try cipher.open(tampered) }
        }
    }

    @Test func everyChangedCharacterIsRejected() throws {
        let cipher = try Self.cipher()
        let envelope = try cipher.seal("x")
        let chars = Array(envelope)
        for index in chars.indices {
            var changed = chars
            changed[index] = chars[index] == "A" ? "B" : "A"
            #expect(throws: CryptoError.self) { try cipher.open(String(changed)) }
        }
    }

    @Test func macCoversTheKeyID() throws {
        // Same master key under two ids: relabelling an envelope must not verify.
        let a = try Self.cipher("keyA")
        let b = try Self.cipher("keyB")
        let envelope = try a.seal("secret")
        let relabelled = "v1.keyB." + envelope.split(separator: ".")[2]
        Self.expectError(.authenticationFailed) { _ = try b.open(relabelled) }
    }

    @Test func wrongMasterKeyFailsAuthentication() throws {
        let envelope = try Self.cipher().seal("secret")
        let other = try Self.cipher(master: [UInt8](repeating: 7, count: 32))
        Self.expectError(.authenticationFailed) { _ = try other.open(envelope) }
    }

    @Test func malformedEnvelopesThrowTheRightErrors() throws {
        let cipher = try Self.cipher()
        let envelope = try cipher.seal("some field value")
        let payload = String(envelope.split(separator: ".")[2])
        // Truncations: every proper prefix of the envelope throws (never traps, never opens).
        for length in 0..<envelope.count {
            #expect(throws: CryptoError.self) { try cipher.open(String(envelope.prefix(length))) }
        }
        // A cut that breaks the block structure is malformed, before any MAC work.
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open(String(envelope.dropLast(4))) })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("v1.k2024.") })
        // Dropping exactly one 16-byte block (payload stays well-formed) fails the MAC.
        var bytes = try #require(Base64URL.decode(payload))
        bytes.removeSubrange(16..<32)
        Self.expectError(.authenticationFailed, { _ = try cipher.open("v1.k2024." + Base64URL.encode(bytes)) })
        // Wrong version, garbage, extra fields, padding, bad key-id syntax.
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("v2.k2024." + payload) })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("V1.k2024." + payload) })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("") })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("garbage") })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("v1") })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("v1...") })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("💥.💥.💥") })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open(envelope + ".extra") })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open(envelope + "==") })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("v1.k 2024." + payload) })
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.open("v1.k2024." + payload + "!") })
        // A well-formed envelope for another key id.
        Self.expectError(.unknownKeyID(""), { _ = try cipher.open("v1.k2025." + payload) })
        do {
            _ = try cipher.open("v1.k2025." + payload)
        } catch CryptoError.unknownKeyID(let id) {
            #expect(id == "k2025")
        }
    }

    @Test func invalidKeysAreRejected() {
        Self.expectError(.invalidKey(""), { _ = try FieldCipher(keyID: "k", masterKey: [UInt8](repeating: 0, count: 16)) })
        Self.expectError(.invalidKey(""), { _ = try FieldCipher(keyID: "", masterKey: Self.master) })
        Self.expectError(.invalidKey(""), { _ = try FieldCipher(keyID: "has.dot", masterKey: Self.master) })
        Self.expectError(.invalidKey(""), { _ = try FieldCipher(keyID: String(repeating: "a", count: 33), masterKey: Self.master) })
        #expect(throws: Never.self) { try FieldCipher(keyID: "A-z_09" + String(repeating: "x", count: 26), masterKey: Self.master) }
    }

    @Test func keyringOpensEnvelopesOfRetiredKeys() throws {
        let old = try Self.cipher("k2023", master: [UInt8](repeating: 1, count: 32))
        let new = try Self.cipher("k2024", master: [UInt8](repeating: 2, count: 32))
        let oldEnvelope = try FieldKeyring(current: old).seal("陈旧数据")
        let ring = FieldKeyring(current: new, retired: [old])
        #expect(ring.current.keyID == "k2024")
        #expect(try ring.openString(oldEnvelope) == "陈旧数据")
        let newEnvelope = try ring.seal("fresh")
        #expect(newEnvelope.hasPrefix("v1.k2024."))
        #expect(try ring.openString(newEnvelope) == "fresh")
        // After the old key is dropped, its envelopes name an unknown key.
        Self.expectError(.unknownKeyID(""), { _ = try FieldKeyring(current: new).openString(oldEnvelope) })
        Self.expectError(.invalidEnvelope(""), { _ = try ring.openString("garbage") })
        Self.expectError(.authenticationFailed, { _ = try ring.openString(try Self.flippingPayloadByte(oldEnvelope, at: 20)) })
    }

    @Test func openStringRejectsNonUTF8Plaintext() throws {
        let cipher = try Self.cipher()
        let envelope = try cipher.seal([0xff, 0xfe])
        Self.expectError(.invalidEnvelope(""), { _ = try cipher.openString(envelope) })
    }

    @Test func printingNeverShowsKeyMaterial() throws {
        let master = [UInt8](repeating: 0xAB, count: 32)
        let cipher = try Self.cipher("logged", master: master)
        let ring = FieldKeyring(current: cipher, retired: [try Self.cipher("old", master: master)])
        var dumped = ""
        dump(ring, to: &dumped)
        dump(cipher, to: &dumped)
        for text in [String(describing: cipher), String(reflecting: cipher), "\(ring)", String(reflecting: ring), dumped] {
            #expect(text.contains("logged"))
            // Default reflection would print the stored derived keys as `encryptionKey: [..]`, `macKey: [..]`.
            #expect(!text.lowercased().contains("key:"), "\(text)")
            #expect(!text.contains("encryptionKey") && !text.contains("macKey"), "\(text)")
        }
        #expect(String(describing: ring) == #"FieldKeyring(keyIDs: ["logged", "old"])"#)
    }

    @Test func concurrentUseIsSafe() async throws {
        let cipher = try Self.cipher()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                group.addTask { try cipher.openString(cipher.seal("value \(i)")) == "value \(i)" }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
