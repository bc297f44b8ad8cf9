import HealthCloudCrypto
import Testing

@Suite struct SM2Tests {
    static let message = Array("转账 100 元 to account 6222 0000 1234".utf8)

    @Test func signAndVerify() throws {
        let key = try SM2PrivateKey.generate()
        let signature = try key.signature(for: Self.message)
        #expect(signature.first == 0x30)  // DER SEQUENCE
        #expect(key.publicKey.isValidSignature(signature, for: Self.message))
        // SM2 signing is randomised: a second signature differs and verifies too.
        let second = try key.signature(for: Self.message)
        #expect(second != signature)
        #expect(key.publicKey.isValidSignature(second, for: Self.message))
        // Empty message.
        #expect(key.publicKey.isValidSignature(try key.signature(for: [UInt8]()), for: [UInt8]()))
    }

    @Test func tamperingIsDetected() throws {
        let key = try SM2PrivateKey.generate()
        let signature = try key.signature(for: Self.message)
        for index in Self.message.indices {
            var tampered = Self.message
            tampered[index] ^= 0x01
            #expect(!key.publicKey.isValidSignature(signature, for: tampered))
        }
        for index in signature.indices {
            var tampered = signature
            tampered[index] ^= 0x01
            #expect(!key.publicKey.isValidSignature(tampered, for: Self.message))
        }
        let other = try SM2PrivateKey.generate()
        #expect(!other.publicKey.isValidSignature(signature, for: Self.message))
    }

    @Test func malformedSignaturesAreFalseNotTraps() throws {
        let key = try SM2PrivateKey.generate()
        let signature = try key.signature(for: Self.message)
        for bad: [UInt8] in [[], [0x30], [0x30, 0x00], signature + [0x00], Array(signature.dropLast()), [UInt8](repeating: 0xff, count: 200)] {
            #expect(!key.publicKey.isValidSignature(bad, for: Self.message))
        }
        // A raw r‖s signature is not DER and must not verify.
        #expect(!key.publicKey.isValidSignature(try SM2Signature.rawRS(fromDER: signature), for: Self.message))
    }

    @Test func privatePEMRoundTripPreservesThePublicKey() throws {
        let key = try SM2PrivateKey.generate()
        let pem = key.pemRepresentation
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let reloaded = try SM2PrivateKey(pemRepresentation: pem)
        #expect(reloaded.publicKey.rawXY == key.publicKey.rawXY)
        #expect(reloaded.pemRepresentation == pem)
        #expect(key.publicKey.isValidSignature(try reloaded.signature(for: Self.message), for: Self.message))
    }

    @Test func publicPEMAndRawXYRoundTrip() throws {
        let key = try SM2PrivateKey.generate()
        let publicKey = key.publicKey
        #expect(publicKey.pemRepresentation.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(publicKey.rawXY.count == 64)
        let fromPEM = try SM2PublicKey(pemRepresentation: publicKey.pemRepresentation)
        #expect(fromPEM.rawXY == publicKey.rawXY)
        let fromXY = try SM2PublicKey(rawXY: publicKey.rawXY)
        #expect(fromXY.pemRepresentation == publicKey.pemRepresentation)
        #expect(fromXY.isValidSignature(try key.signature(for: Self.message), for: Self.message))
    }

    @Test func invalidKeysThrow() throws {
        let key = try SM2PrivateKey.generate()
        #expect(throws: CryptoError.self) { try SM2PublicKey(rawXY: [UInt8](repeating: 0, count: 64)) }
        #expect(throws: CryptoError.self) { try SM2PublicKey(rawXY: Array(key.publicKey.rawXY.dropLast())) }
        var offCurve = key.publicKey.rawXY
        offCurve[63] ^= 0x01
        #expect(throws: CryptoError.self) { try SM2PublicKey(rawXY: offCurve) }
        #expect(throws: CryptoError.self) { try SM2PublicKey(pemRepresentation: "not pem") }
        #expect(throws: CryptoError.self) { try SM2PublicKey(pemRepresentation: key.pemRepresentation) }
        #expect(throws: CryptoError.self) { try SM2PrivateKey(pemRepresentation: key.publicKey.pemRepresentation) }
        #expect(throws: CryptoError.self) { try SM2PrivateKey(pemRepresentation: "") }
    }

    @Test func derAndRawRSRoundTrip() throws {
        let key = try SM2PrivateKey.generate()
        for _ in 0..<20 {  // r or s with a leading zero byte (short INTEGER) turns up within a few tries
            let der = try key.signature(for: Self.message)
            let raw = try SM2Signature.rawRS(fromDER: der)
            #expect(raw.count == 64)
            #expect(try SM2Signature.der(fromRawRS: raw) == der)
        }
        // Hand-checked small values: r = 1, s = 0x80 (needs a 0x00 sign byte in DER).
        var raw = [UInt8](repeating: 0, count: 64)
        raw[31] = 1
        raw[63] = 0x80
        let der = try SM2Signature.der(fromRawRS: raw)
        #expect(der == [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80])
        #expect(try SM2Signature.rawRS(fromDER: der) == raw)
    }

    @Test func malformedSignatureConversionsThrow() throws {
        #expect(throws: CryptoError.self) { try SM2Signature.der(fromRawRS: [UInt8](repeating: 1, count: 63)) }
        #expect(throws: CryptoError.self) { try SM2Signature.rawRS(fromDER: []) }
        // A trailing byte.
        #expect(throws: CryptoError.self) { try SM2Signature.rawRS(fromDER: [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80, 0x00]) }
        // A non-minimal INTEGER.
        #expect(throws: CryptoError.self) { try SM2Signature.rawRS(fromDER: [0x30, 0x08, 0x02, 0x02, 0x00, 0x01, 0x02, 0x02, 0x00, 0x80]) }
        #expect(throws: CryptoError.self) { try SM2Signature.rawRS(fromDER: [0x30, 0x06, 0x02, 0x01, 0xff, 0x02, 0x01, 0x01]) }  // negative r
        let big = [0x30, 0x26, 0x02, 0x21] + [UInt8](repeating: 0x7f, count: 33) + [0x02, 0x01, 0x01]  // r of 33 bytes
        #expect(throws: CryptoError.self) { try SM2Signature.rawRS(fromDER: big) }
    }

    @Test func concurrentSigningWithOneKey() async throws {
        let key = try SM2PrivateKey.generate()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<32 {
                group.addTask {
                    let message = Array("message \(i)".utf8)
                    return key.publicKey.isValidSignature(try key.signature(for: message), for: message)
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
