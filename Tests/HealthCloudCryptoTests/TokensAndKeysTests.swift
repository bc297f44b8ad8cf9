import Foundation
import HealthCloudCrypto
import Testing

@Suite struct TOTPTests {
    /// RFC 6238 Appendix B, SHA-1 with the 20-byte ASCII secret "12345678901234567890",
    /// last six of the eight published digits.
    @Test(arguments: [(59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"), (2_000_000_000, "279037")])
    func rfc6238Vectors(seconds: Int, code: String) {
        let totp = TOTP(secret: Array("12345678901234567890".utf8))
        #expect(totp.code(at: Date(timeIntervalSince1970: TimeInterval(seconds))) == code)
    }

    @Test func acceptsOneStepEitherSideAndNoMore() {
        let totp = TOTP(secret: TOTP.generateSecret())
        let now = Date(timeIntervalSince1970: 1_800_000_015)
        let counter = Int64(1_800_000_015 / 30)
        #expect(totp.matchingCounter(for: totp.code(counter: counter), at: now) == counter)
        #expect(totp.matchingCounter(for: totp.code(counter: counter - 1), at: now) == counter - 1)
        #expect(totp.matchingCounter(for: totp.code(counter: counter + 1), at: now) == counter + 1)
        let farCode = totp.code(counter: counter + 2)
        if ![counter - 1, counter, counter + 1].contains(where: { totp.code(counter: $0) == farCode }) {
            #expect(totp.matchingCounter(for: farCode, at: now) == nil)
        }
        #expect(totp.matchingCounter(for: "12345", at: now) == nil)
        #expect(totp.matchingCounter(for: "12a456", at: now) == nil)
    }

    @Test func base32RoundTripsAndMatchesRFC4648() {
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI")
        #expect(Base32.encode(Array("f".utf8)) == "MY")
        #expect(Base32.decode("MZXW6YTBOI") == Array("foobar".utf8))
        #expect(Base32.decode("mzxw6ytboi======") == Array("foobar".utf8))
        #expect(Base32.decode("MZXW1") == nil, "1 is not in the alphabet")
        let secret = TOTP.generateSecret()
        #expect(Base32.decode(Base32.encode(secret)) == secret)
    }

    @Test func provisioningURIFollowsTheKeyURIFormat() throws {
        let uri = TOTP(secret: Array("12345678901234567890".utf8)).provisioningURI(account: "doctor.ruijin", issuer: "HealthCloud")
        #expect(
            uri
                == "otpauth://totp/HealthCloud:doctor.ruijin?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=HealthCloud&algorithm=SHA1&digits=6&period=30"
        )
    }
}

@Suite struct SignedTokenTests {
    let key = try! SM2PrivateKey.generate()
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func token(type: String = "visit", claims: [String: any Sendable] = ["appointment": 42], lifetime: TimeInterval = 600) throws -> String {
        try SignedToken.sign(claims: claims, type: type, issuedAt: now, expiresAt: now.addingTimeInterval(lifetime), key: key, keyID: "k1")
    }

    @Test func aTokenVerifiesAndCarriesItsClaims() throws {
        let token = try token()
        #expect(token.hasPrefix("HCP1."))
        #expect(token.split(separator: ".").count == 3)
        let claims = try SignedToken.verify(token, publicKeys: ["k1": key.publicKey], now: now, expectedType: "visit")
        #expect((claims["appointment"] as? NSNumber)?.intValue == 42)
        #expect(claims["kid"] as? String == "k1")
        #expect((claims["exp"] as? NSNumber)?.int64Value == 1_800_000_600)
    }

    @Test func anEditedPayloadWithTheOriginalSignatureIsRefused() throws {
        let parts = try token().split(separator: ".").map(String.init)
        var payload = try #require(Base64URL.decode(parts[1]))
        let text = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "42", with: "43")
        payload = Array(text.utf8)
        let forged = "HCP1.\(Base64URL.encode(payload)).\(parts[2])"
        #expect(throws: SignedToken.VerificationError.badSignature) {
            _ = try SignedToken.verify(forged, publicKeys: ["k1": key.publicKey], now: now)
        }
    }

    @Test func unknownKeysWrongKeysTimesAndTypesAreRefused() throws {
        let token = try token()
        let other = try SM2PrivateKey.generate().publicKey
        #expect(throws: SignedToken.VerificationError.unknownKey("k1")) {
            _ = try SignedToken.verify(token, publicKeys: ["k2": key.publicKey], now: now)
        }
        #expect(throws: SignedToken.VerificationError.badSignature) {
            _ = try SignedToken.verify(token, publicKeys: ["k1": other], now: now)
        }
        #expect(throws: SignedToken.VerificationError.expired(1_800_000_600)) {
            _ = try SignedToken.verify(token, publicKeys: ["k1": key.publicKey], now: now.addingTimeInterval(600))
        }
        #expect(throws: SignedToken.VerificationError.wrongType(expected: "prescription", found: "visit")) {
            _ = try SignedToken.verify(token, publicKeys: ["k1": key.publicKey], now: now, expectedType: "prescription")
        }
        let later = try self.token(claims: ["nbf": 1_800_000_300])
        #expect(throws: SignedToken.VerificationError.notYetValid(1_800_000_300)) {
            _ = try SignedToken.verify(later, publicKeys: ["k1": key.publicKey], now: now)
        }
    }

    @Test(arguments: ["", "HCP1", "HCP1..", "HCP2.e30.AA", "HCP1.!!!.AA", "HCP1.e30.AA", "HCP1.bm90IGpzb24.AA", "a.b.c.d"])
    func malformedTokensAreRefusedNotCrashed(token: String) {
        #expect(throws: SignedToken.VerificationError.self) {
            _ = try SignedToken.verify(token, publicKeys: ["k1": key.publicKey], now: now)
        }
    }
}

@Suite struct KeyStoreTests {
    func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("hc-keys-\(UUID().uuidString.prefix(8))")
    }

    @Test func initWritesSecretsOwnerOnlyAndRefusesToOverwrite() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try KeyStore.initialize(at: directory)
        for secret in ["index.key", "integrity.key", "manifest.json", "signing/\(keys.signingKeyID).pem", "field/\(keys.fields.current.keyID).key"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(secret).path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(secret) must be 0600")
        }
        #expect(throws: KeyStore.KeyStoreError.self) { try KeyStore.initialize(at: directory) }
        let loaded = try KeyStore.load(from: directory)
        #expect(loaded.signingKey.publicKey.rawXY == keys.signingKey.publicKey.rawXY)
        #expect(loaded.blindIndexKey == keys.blindIndexKey)
    }

    @Test func rotationKeepsOldPublicKeysAndOldFieldKeys() throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let before = try KeyStore.initialize(at: directory)
        let sealed = try before.fields.seal("13800138000")
        let signature = try before.signingKey.signature(for: Array("checkpoint".utf8))
        let after = try KeyStore.rotate(signing: true, field: true, at: directory)
        #expect(after.signingKeyID != before.signingKeyID)
        #expect(after.fields.current.keyID != before.fields.current.keyID)
        #expect(after.verificationKeys[before.signingKeyID]?.isValidSignature(signature, for: Array("checkpoint".utf8)) == true)
        #expect(try after.fields.openString(sealed) == "13800138000")
        #expect(try after.fields.seal("x").contains(after.fields.current.keyID))
        #expect(after.blindIndexKey == before.blindIndexKey, "blind indexes stay stable across rotation")
    }

    @Test func aMissingStoreSaysHowToCreateIt() {
        #expect {
            _ = try KeyStore.load(from: scratch())
        } throws: { error in
            "\(error)".contains("keys init")
        }
    }
}

@Suite struct PasswordHasherTests {
    @Test func hashesVerifyOnlyTheirPassword() throws {
        let hasher = PasswordHasher(iterations: 1_000)
        let stored = try hasher.hash("Str0ng-Passw0rd")
        #expect(stored.hasPrefix("pbkdf2-sm3$1000$"))
        #expect(hasher.verify("Str0ng-Passw0rd", against: stored))
        #expect(!hasher.verify("Str0ng-Passw0rD", against: stored))
        #expect(try hasher.hash("Str0ng-Passw0rd") != stored, "a fresh salt each time")
        #expect(!hasher.verify("x", against: "garbage"))
        #expect(!hasher.verify("x", against: "pbkdf2-sm3$0$AA$AA"))
        #expect(PasswordHasher(iterations: 2_000).needsRehash(stored))
        #expect(!hasher.needsRehash(stored))
    }
}
