import HealthCloudCrypto
import Testing

/// Standard vectors and independently computed values for the primitives under everything else.
@Suite struct PrimitiveTests {
    @Test func sm3StandardVectors() {
        // GB/T 32905-2016 appendix A.
        #expect(Hex.encode(SM3.hash("abc".utf8)) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        let abcd16 = Array(String(repeating: "abcd", count: 16).utf8)
        #expect(abcd16.count == 64)
        #expect(Hex.encode(SM3.hash(abcd16)) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
        // A non-contiguous collection goes through the copying path and must agree.
        #expect(SM3.hash(abcd16.lazy.map { $0 }) == SM3.hash(abcd16))
        #expect(SM3.hash([UInt8]()).count == 32)
    }

    @Test func hmacSM3MatchesIndependentComputations() {
        // Expected values computed twice, and agreeing:
        //   echo -n "what do ya want for nothing?" | openssl mac -digest SM3 -macopt key:Jefe HMAC
        //   python3 hmac.new(key, msg, digestmod=<gmssl sm3 wrapped as a hashlib-like object>)
        #expect(
            Hex.encode(HMAC.authenticationCode(for: "what do ya want for nothing?".utf8, key: "Jefe".utf8))
                == "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882"
        )
        //   echo -n "Hi There" | openssl mac -digest SM3 -macopt hexkey:0b×20 HMAC  (and the gmssl/hmac oracle)
        #expect(
            Hex.encode(HMAC.authenticationCode(for: "Hi There".utf8, key: [UInt8](repeating: 0x0b, count: 20), digest: .sm3))
                == "51b00d1fb49832bfb01c3ce27848e59f871d9ba938dc563b338ca964755cce70"
        )
        // A key longer than SM3's 64-byte block is hashed first (RFC 2104); same two oracles, key "k"×100.
        #expect(
            Hex.encode(HMAC.authenticationCode(for: "long key".utf8, key: [UInt8](repeating: UInt8(ascii: "k"), count: 100)))
                == "5764f9a70a2932077d6457098d0fc783d4a59f0f3d0a9c499e67065b7e748575"
        )
    }

    @Test func hmacSHA1AndSHA256() {
        // RFC 2202 test case 1.
        #expect(
            Hex.encode(HMAC.authenticationCode(for: "Hi There".utf8, key: [UInt8](repeating: 0x0b, count: 20), digest: .sha1))
                == "b617318655057264e28bc0b6fb378c8ef146be00"
        )
        // RFC 4231 test case 1.
        #expect(
            Hex.encode(HMAC.authenticationCode(for: "Hi There".utf8, key: [UInt8](repeating: 0x0b, count: 20), digest: .sha256))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        )
        // Empty key and message: OpenSSL's HMAC() rejects a NULL key, so this exercises the non-null path.
        // python3 -c "import hmac,hashlib;print(hmac.new(b'',b'',hashlib.sha256).hexdigest())"
        #expect(
            Hex.encode(HMAC.authenticationCode(for: [UInt8](), key: [UInt8](), digest: .sha256))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        )
    }

    @Test func sm4StandardVector() throws {
        // GB/T 32907-2016 appendix A, example 1: key = plaintext.
        let key = try #require(Hex.decode("0123456789abcdeffedcba9876543210"))
        #expect(Hex.encode(try SM4.encryptBlock(key, key: key)) == "681edf34d206965e86b3e94f536e4246")
        #expect(throws: CryptoError.self) { try SM4.encryptBlock(key, key: Array(key.prefix(15))) }
        #expect(throws: CryptoError.self) { try SM4.encryptBlock(key + [0], key: key) }
    }

    @Test func pbkdf2HMACSM3MatchesIndependentComputations() throws {
        // openssl kdf -keylen 32 -kdfopt digest:SM3 -kdfopt pass:password -kdfopt salt:salt -kdfopt iter:1000 PBKDF2
        // (also reproduced by a pure-Python RFC 8018 loop over the gmssl-based HMAC-SM3).
        let key = try PBKDF2.deriveKey(password: "password".utf8, salt: "salt".utf8, iterations: 1000)
        #expect(Hex.encode(key) == "e8b635a41dfe5aaab7cf828cff6f3608e22cac59ba16edd70e000b293d00bc91")
        // 40 bytes spans two PRF blocks: openssl kdf -keylen 40 … -kdfopt iter:2 PBKDF2 (and the Python loop).
        let twoBlocks = try PBKDF2.deriveKey(password: "password".utf8, salt: "salt".utf8, iterations: 2, length: 40)
        #expect(Hex.encode(twoBlocks) == "fee723a2bc966e11dffb66133f4e8df577383c78ade30e3298edbd3e54ed85b7650006f9e15d3798")
    }

    @Test func pbkdf2ParametersChangeTheKey() throws {
        let base = try PBKDF2.deriveKey(password: "pw".utf8, salt: "salt-a".utf8, iterations: 100)
        #expect(base.count == 32)
        #expect(try PBKDF2.deriveKey(password: "pw".utf8, salt: "salt-b".utf8, iterations: 100) != base)
        #expect(try PBKDF2.deriveKey(password: "pw".utf8, salt: "salt-a".utf8, iterations: 101) != base)
        #expect(try PBKDF2.deriveKey(password: "pW".utf8, salt: "salt-a".utf8, iterations: 100) != base)
        #expect(try PBKDF2.deriveKey(password: "pw".utf8, salt: "salt-a".utf8, iterations: 100) == base)
        #expect(try PBKDF2.deriveKey(password: [UInt8](), salt: [UInt8](), iterations: 1, length: 16).count == 16)
        #expect(throws: CryptoError.self) { try PBKDF2.deriveKey(password: "pw".utf8, salt: "s".utf8, iterations: 0) }
        #expect(throws: CryptoError.self) { try PBKDF2.deriveKey(password: "pw".utf8, salt: "s".utf8, iterations: 1, length: 0) }
    }

    @Test func base64URLIsUnpaddedAndStrict() {
        // RFC 4648 §10 vectors, without padding.
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(plain.utf8) == encoded)
            #expect(Base64URL.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64URL.encode([0xfb, 0xff, 0xfe]) == "-__-")
        #expect(Base64URL.decode("-__-") == [0xfb, 0xff, 0xfe])
        for bad in ["Zg==", "Z", "Zm9v\n", "+/", "Zm 9v", "Zh", "Zm9"] {  // "Zh"/"Zm9": non-zero unused bits
            #expect(Base64URL.decode(bad) == nil, "\(bad)")
        }
    }

    @Test func hexRoundTrip() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "00abff")
        #expect(Hex.decode("00ABff") == [0x00, 0xab, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("") == [])
    }

    @Test func constantTimeEqualsComparesContentAndLength() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(constantTimeEquals([UInt8](), [UInt8]()))
        #expect(constantTimeEquals([9, 1, 2].dropFirst(), [1, 2]))
    }

    @Test func secureRandomGivesFreshBytes() {
        #expect(SecureRandom.bytes(0).isEmpty)
        let a = SecureRandom.bytes(32)
        #expect(a.count == 32)
        #expect(a != SecureRandom.bytes(32))
    }

    @Test func errorsDescribeThemselves() {
        #expect(CryptoError.unknownKeyID("k1").description.contains("k1"))
        #expect(CryptoError.authenticationFailed.description == "authentication failed")
    }
}
