import Foundation
import HealthCloudCrypto
import Testing

/// Interop with independent SM2 implementations, run for real: OpenSSL's CLI and gmssl.
/// Under CI (CI=true) a missing oracle is a failure; elsewhere the test is skipped with the reason.
@Suite struct InteropTests {
    static let message = Array("HealthCloud 互通测试 interop message".utf8)

    // MARK: - openssl CLI

    @Test(.enabled(if: Oracle.opensslAvailable || Oracle.isCI, "\(Oracle.openssl) not found (apt-get install openssl)"))
    func swiftSignsOpenSSLVerifies() throws {
        try #require(Oracle.opensslAvailable, "\(Oracle.openssl) is required under CI")
        let key = try SM2PrivateKey.generate()
        let signature = try key.signature(for: Self.message)
        try Oracle.withTemporaryDirectory { dir in
            try Data(key.publicKey.pemRepresentation.utf8).write(to: dir.appendingPathComponent("pub.pem"))
            try Data(key.pemRepresentation.utf8).write(to: dir.appendingPathComponent("key.pem"))
            try Data(Self.message).write(to: dir.appendingPathComponent("msg"))
            try Data(signature).write(to: dir.appendingPathComponent("sig"))
            var tampered = Self.message
            tampered[0] ^= 0x01
            try Data(tampered).write(to: dir.appendingPathComponent("tampered"))

            let verify = [
                "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-sigfile", "sig",
                "-digest", "sm3", "-pkeyopt", "distid:1234567812345678", "-in",
            ]
            let good = try Oracle.run(Oracle.openssl, verify + ["msg"], in: dir)
            #expect(good.status == 0, "\(good.stderr)")
            #expect(good.stdout.contains("Signature Verified Successfully"), "\(good.stdout)")

            let bad = try Oracle.run(Oracle.openssl, verify + ["tampered"], in: dir)
            #expect(bad.status != 0)
            #expect(!bad.stdout.contains("Signature Verified Successfully"), "\(bad.stdout)")

            // Without the standard ID OpenSSL 3.0 uses an empty one, and the signature must not verify.
            let noID = try Oracle.run(
                Oracle.openssl,
                [
                    "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin",
                    "-sigfile", "sig", "-digest", "sm3", "-in", "msg",
                ],
                in: dir
            )
            #expect(noID.status != 0, "OpenSSL verified with the empty default ID: \(noID.stdout)")

            // Our PKCS#8 is readable by OpenSSL and yields the same public key.
            let pubout = try Oracle.run(Oracle.openssl, ["pkey", "-in", "key.pem", "-pubout"], in: dir)
            #expect(pubout.status == 0, "\(pubout.stderr)")
            #expect(pubout.stdout == key.publicKey.pemRepresentation)
        }
    }

    @Test(.enabled(if: Oracle.opensslAvailable || Oracle.isCI, "\(Oracle.openssl) not found (apt-get install openssl)"))
    func openSSLSignsSwiftVerifies() throws {
        try #require(Oracle.opensslAvailable, "\(Oracle.openssl) is required under CI")
        try Oracle.withTemporaryDirectory { dir in
            func openssl(_ arguments: String...) throws {
                let result = try Oracle.run(Oracle.openssl, arguments, in: dir)
                try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")): \(result.stderr)")
            }
            try Data(Self.message).write(to: dir.appendingPathComponent("msg"))
            try openssl("genpkey", "-algorithm", "SM2", "-out", "key.pem")
            try openssl("pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
            try openssl(
                "pkeyutl",
                "-sign",
                "-inkey",
                "key.pem",
                "-rawin",
                "-in",
                "msg",
                "-out",
                "sig",
                "-digest",
                "sm3",
                "-pkeyopt",
                "distid:1234567812345678"
            )
            try openssl("pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "msg", "-out", "sig-empty-id", "-digest", "sm3")
            // SEC1 form: `openssl ec` labels it "SM2 PRIVATE KEY"; other tools write "EC PRIVATE KEY".
            try openssl("ec", "-in", "key.pem", "-out", "sec1.pem")
            try openssl("pkey", "-in", "key.pem", "-aes256", "-passout", "pass:secret", "-out", "encrypted.pem")

            let read = { (name: String) in try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }
            let publicPEM = try read("pub.pem")
            let publicKey = try SM2PublicKey(pemRepresentation: publicPEM)
            #expect(publicKey.pemRepresentation == publicPEM)
            let signature = [UInt8](try Data(contentsOf: dir.appendingPathComponent("sig")))
            #expect(publicKey.isValidSignature(signature, for: Self.message))
            #expect(!publicKey.isValidSignature(signature, for: Self.message + [0]))
            // Signed with OpenSSL 3.0's empty default ID: not a standard SM2 signature for us.
            let emptyID = [UInt8](try Data(contentsOf: dir.appendingPathComponent("sig-empty-id")))
            #expect(!publicKey.isValidSignature(emptyID, for: Self.message))

            let privateKey = try SM2PrivateKey(pemRepresentation: try read("key.pem"))
            #expect(privateKey.publicKey.rawXY == publicKey.rawXY)
            let sec1 = try read("sec1.pem")
            #expect(try SM2PrivateKey(pemRepresentation: sec1).publicKey.rawXY == publicKey.rawXY)
            let ecLabelled = sec1.replacingOccurrences(of: "SM2 PRIVATE KEY", with: "EC PRIVATE KEY")
            #expect(ecLabelled.hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
            #expect(try SM2PrivateKey(pemRepresentation: ecLabelled).publicKey.rawXY == publicKey.rawXY)
            // Encrypted PEM: refused at once, never a passphrase prompt.
            #expect(throws: CryptoError.self) { try SM2PrivateKey(pemRepresentation: try read("encrypted.pem")) }
        }
    }

    @Test(.enabled(if: Oracle.opensslAvailable || Oracle.isCI, "\(Oracle.openssl) not found (apt-get install openssl)"))
    func nonSM2KeysAreRejected() throws {
        try #require(Oracle.opensslAvailable, "\(Oracle.openssl) is required under CI")
        try Oracle.withTemporaryDirectory { dir in
            let gen = try Oracle.run(
                Oracle.openssl,
                ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "p256.pem"],
                in: dir
            )
            try #require(gen.status == 0, "\(gen.stderr)")
            let pub = try Oracle.run(Oracle.openssl, ["pkey", "-in", "p256.pem", "-pubout"], in: dir)
            try #require(pub.status == 0, "\(pub.stderr)")
            let pem = try String(contentsOf: dir.appendingPathComponent("p256.pem"), encoding: .utf8)
            #expect(throws: CryptoError.self) { try SM2PrivateKey(pemRepresentation: pem) }
            #expect(throws: CryptoError.self) { try SM2PublicKey(pemRepresentation: pub.stdout) }
        }
    }

    @Test(.enabled(if: Oracle.opensslAvailable || Oracle.isCI, "\(Oracle.openssl) not found (apt-get install openssl)"))
    func sm3AndSM4AgreeWithOpenSSLCLI() throws {
        try #require(Oracle.opensslAvailable, "\(Oracle.openssl) is required under CI")
        try Oracle.withTemporaryDirectory { dir in
            let data = SecureRandom.bytes(1000)
            try Data(data).write(to: dir.appendingPathComponent("data"))
            let digest = try Oracle.run(Oracle.openssl, ["dgst", "-sm3", "-r", "data"], in: dir)
            try #require(digest.status == 0, "\(digest.stderr)")
            #expect(digest.stdout.hasPrefix(Hex.encode(SM3.hash(data))))
            // A FieldCipher envelope decrypts with the CLI given the derived SM4 key (documented derivation).
            let master = SecureRandom.bytes(32)
            let encKey = Array(HMAC.authenticationCode(for: "healthcloud/sm4-enc".utf8, key: master).prefix(16))
            let envelope = try FieldCipher(keyID: "cli", masterKey: master).seal(Array("命令行 interop".utf8))
            let payload = try #require(Base64URL.decode(String(envelope.split(separator: ".")[2])))
            try Data(payload[16..<(payload.count - 32)]).write(to: dir.appendingPathComponent("ct"))
            let decrypt = try Oracle.run(
                Oracle.openssl,
                [
                    "enc", "-d", "-sm4-cbc", "-K", Hex.encode(encKey),
                    "-iv", Hex.encode(payload[0..<16]), "-in", "ct",
                ],
                in: dir
            )
            #expect(decrypt.status == 0, "\(decrypt.stderr)")
            #expect(decrypt.stdout == "命令行 interop")
        }
    }

    // MARK: - gmssl (pure Python)

    @Test(.enabled(if: Oracle.python != nil || Oracle.isCI, "\(Oracle.missingGmssl)"))
    func swiftSignsGmsslVerifies() throws {
        let python = try #require(Oracle.python, "\(Oracle.missingGmssl); required under CI")
        // gmssl's constructor does `public_key.lstrip("04")` when the hex starts with "04", which
        // strips *every* leading '0' and '4' — so a raw X‖Y whose X begins with byte 0x04 gets
        // mangled. The script re-assigns the hex after construction; the second key proves it.
        var keys = [try SM2PrivateKey.generate()]
        var candidate = try SM2PrivateKey.generate()
        while candidate.publicKey.rawXY[0] != 0x04 { candidate = try SM2PrivateKey.generate() }  // ~256 tries
        keys.append(candidate)
        var tampered = Self.message
        tampered[tampered.count - 1] ^= 0x01
        let script = """
            import sys
            from gmssl import sm2
            xy, sig, msg, tampered = sys.argv[1:5]
            c = sm2.CryptSM2(public_key=xy, private_key='')
            c.public_key = xy
            print(c.verify_with_sm3(sig, bytes.fromhex(msg)), c.verify_with_sm3(sig, bytes.fromhex(tampered)))
            """
        for key in keys {
            let raw = try SM2Signature.rawRS(fromDER: try key.signature(for: Self.message))
            let result = try Oracle.run(
                python,
                [
                    "-c", script, Hex.encode(key.publicKey.rawXY), Hex.encode(raw),
                    Hex.encode(Self.message), Hex.encode(tampered),
                ]
            )
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "True False",
                "public key \(Hex.encode(key.publicKey.rawXY))"
            )
        }
    }

    @Test(.enabled(if: Oracle.python != nil || Oracle.isCI, "\(Oracle.missingGmssl)"))
    func gmsslSignsSwiftVerifies() throws {
        let python = try #require(Oracle.python, "\(Oracle.missingGmssl); required under CI")
        let script = """
            import secrets, sys
            from gmssl import sm2
            n = int(sm2.default_ecc_table['n'], 16)
            d = secrets.randbelow(n - 2) + 1
            c = sm2.CryptSM2(public_key='', private_key='%064x' % d)
            c.public_key = c._kg(d, sm2.default_ecc_table['g'])  # public key = d·G, X‖Y hex
            sig = None
            while sig is None:  # gmssl returns None for the (negligible) r = 0 / s = 0 cases
                sig = c.sign_with_sm3(bytes.fromhex(sys.argv[1]), '%064x' % (secrets.randbelow(n - 1) + 1))
            print(c.public_key)
            print(sig)
            """
        let result = try Oracle.run(python, ["-c", script, Hex.encode(Self.message)])
        try #require(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "unexpected gmssl output: \(result.stdout)")
        let xy = try #require(Hex.decode(lines[0]))
        let raw = try #require(Hex.decode(lines[1]))
        let publicKey = try SM2PublicKey(rawXY: xy)
        let der = try SM2Signature.der(fromRawRS: raw)
        #expect(publicKey.isValidSignature(der, for: Self.message))
        #expect(!publicKey.isValidSignature(der, for: Array(Self.message.dropLast())))
        #expect(try SM2Signature.rawRS(fromDER: der) == raw)
    }

    @Test(.enabled(if: Oracle.python != nil || Oracle.isCI, "\(Oracle.missingGmssl)"))
    func sm3AgreesWithGmssl() throws {
        let python = try #require(Oracle.python, "\(Oracle.missingGmssl); required under CI")
        let data = SecureRandom.bytes(333)
        let script = "import sys; from gmssl import sm3, func; print(sm3.sm3_hash(func.bytes_to_list(bytes.fromhex(sys.argv[1]))))"
        let result = try Oracle.run(python, ["-c", script, Hex.encode(data)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Hex.encode(SM3.hash(data)))
    }
}
