import COpenSSL

/// The SM2 distinguishing ID of GB/T 32918 / GM/T 0009. OpenSSL 3.0 defaults to an EMPTY ID,
/// which no other SM2 implementation uses, so it is set explicitly on every sign and verify.
private let sm2DefaultID: [UInt8] = Array("1234567812345678".utf8)

/// Owns one `EVP_PKEY*`; the pointer never changes after init and is freed in `deinit`.
/// Read-only use of an `EVP_PKEY` from several threads is safe in OpenSSL 3.
final class SM2KeyHandle: @unchecked Sendable {
    let pkey: OpaquePointer

    init(_ pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }

    /// Accepts the key only if OpenSSL typed it as SM2 (an SM2-curve key decodes as "SM2" in 3.0).
    static func checked(_ pkey: OpaquePointer?, _ what: String) throws -> SM2KeyHandle {
        guard let pkey else { throw CryptoError.fromOpenSSL(what) }
        let handle = SM2KeyHandle(pkey)
        guard EVP_PKEY_is_a(pkey, "SM2") == 1 else {
            throw CryptoError.invalidKey("not an SM2 key (type \(String(cString: EVP_PKEY_get0_type_name(pkey))))")
        }
        return handle
    }

    /// Digest-sign (or verify) setup shared by both directions: our own EVP_PKEY_CTX carrying
    /// the distinguishing ID, attached to the MD context before EVP_Digest{Sign,Verify}Init.
    /// `EVP_MD_CTX_set_pkey_ctx` does not take ownership, so both are freed here, MD first.
    func withDigestContext<R>(
        sign: Bool,
        _ body: (OpaquePointer) throws -> R
    ) throws -> R {
        guard let pctx = EVP_PKEY_CTX_new(pkey, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(pctx) }
        guard let mdctx = EVP_MD_CTX_new() else { throw CryptoError.fromOpenSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(mdctx) }  // runs before the EVP_PKEY_CTX_free above
        let idOK = sm2DefaultID.withUnsafeBytes { EVP_PKEY_CTX_set1_id(pctx, $0.baseAddress, Int32($0.count)) == 1 }
        guard idOK else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_set1_id") }
        EVP_MD_CTX_set_pkey_ctx(mdctx, pctx)
        let initResult =
            sign
            ? EVP_DigestSignInit(mdctx, nil, EVP_sm3(), nil, pkey)
            : EVP_DigestVerifyInit(mdctx, nil, EVP_sm3(), nil, pkey)
        guard initResult == 1 else { throw CryptoError.fromOpenSSL(sign ? "EVP_DigestSignInit" : "EVP_DigestVerifyInit") }
        return try body(mdctx)
    }

    /// PEM text written by `write` into a fresh memory BIO.
    func pem(_ what: String, _ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError.fromOpenSSL("BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1, let text = drainMemoryBIO(bio) else { throw CryptoError.fromOpenSSL(what) }
        return text
    }
}

/// Runs `read` on a read-only memory BIO over `pem`.
private func readPEM(_ pem: String, _ read: (OpaquePointer) -> OpaquePointer?) throws -> OpaquePointer? {
    let bytes = Array(pem.utf8)
    let length = try int32Length(bytes.count, "PEM")
    return try bytes.withUnsafeBytes { buffer in
        guard let bio = BIO_new_mem_buf(buffer.baseAddress, length) else { throw CryptoError.fromOpenSSL("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        return read(bio)
    }
}

/// An SM2 private key (GB/T 32918 signatures with SM3 and the standard ID).
public final class SM2PrivateKey: @unchecked Sendable {
    let handle: SM2KeyHandle
    /// Computed once: the public half, copied out through DER so it holds no private material.
    public let publicKey: SM2PublicKey

    private init(handle: SM2KeyHandle) throws {
        self.handle = handle
        publicKey = try SM2PublicKey(copyingPublicPartOf: handle.pkey)
    }

    public static func generate() throws -> SM2PrivateKey {
        // EVP_PKEY_Q_keygen is variadic and cannot be called from Swift.
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "SM2", nil) else {
            throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new_from_name(SM2)")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw CryptoError.fromOpenSSL("EVP_PKEY_keygen_init") }
        var pkey: OpaquePointer?
        guard EVP_PKEY_generate(ctx, &pkey) == 1 else {
            EVP_PKEY_free(pkey)
            throw CryptoError.fromOpenSSL("EVP_PKEY_generate")
        }
        return try SM2PrivateKey(handle: SM2KeyHandle.checked(pkey, "EVP_PKEY_generate"))
    }

    /// PKCS#8 `BEGIN PRIVATE KEY` (as `openssl genpkey -algorithm SM2` writes) or SEC1
    /// `BEGIN EC PRIVATE KEY` on the SM2 curve. Encrypted PEM is refused, never prompted for.
    public init(pemRepresentation: String) throws {
        let pkey = try readPEM(pemRepresentation) { bio in
            // A non-capturing closure is a C function pointer: it refuses every passphrase
            // request, where a NULL callback would prompt on the terminal.
            PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in -1 }, nil)
        }
        handle = try SM2KeyHandle.checked(pkey, "PEM_read_bio_PrivateKey")
        publicKey = try SM2PublicKey(copyingPublicPartOf: handle.pkey)
    }

    /// PKCS#8 PEM, unencrypted. Written on demand so no copy of the secret lingers in a Swift string.
    public var pemRepresentation: String {
        do {
            return try handle.pem("PEM_write_bio_PrivateKey") { PEM_write_bio_PrivateKey($0, handle.pkey, nil, nil, 0, nil, nil) }
        } catch {
            // Only fails when memory runs out: a getter cannot throw.
            fatalError("SM2PrivateKey.pemRepresentation: \(error)")
        }
    }

    /// DER-encoded SM2 signature over `message` with SM3 and ID 1234567812345678.
    public func signature(for message: some Collection<UInt8>) throws -> [UInt8] {
        try handle.withDigestContext(sign: true) { mdctx in
            var length = Int(EVP_PKEY_get_size(handle.pkey))
            guard length > 0 else { throw CryptoError.fromOpenSSL("EVP_PKEY_get_size") }
            var signature = [UInt8](repeating: 0, count: length)
            let ok = withBytes(message) { pointer, count in
                EVP_DigestSign(mdctx, &signature, &length, pointer, count) == 1
            }
            guard ok else { throw CryptoError.fromOpenSSL("EVP_DigestSign") }
            return Array(signature.prefix(length))
        }
    }
}

/// An SM2 public key: verifies DER signatures made with SM3 and ID 1234567812345678.
public final class SM2PublicKey: @unchecked Sendable {
    let handle: SM2KeyHandle
    /// Public data, so computed once at init: the getters below cannot fail.
    public let pemRepresentation: String
    /// 64 bytes X‖Y (the uncompressed point without its 04 prefix), the form gmssl uses.
    public let rawXY: [UInt8]

    private init(handle: SM2KeyHandle) throws {
        self.handle = handle
        pemRepresentation = try handle.pem("PEM_write_bio_PUBKEY") { PEM_write_bio_PUBKEY($0, handle.pkey) }
        var point = [UInt8](repeating: 0, count: 65)
        var length = 0
        guard EVP_PKEY_get_octet_string_param(handle.pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, &point, point.count, &length) == 1
        else { throw CryptoError.fromOpenSSL("EVP_PKEY_get_octet_string_param(encoded-pub-key)") }
        guard length == 65, point[0] == 0x04 else { throw CryptoError.invalidKey("unexpected SM2 point encoding") }
        rawXY = Array(point[1...])
    }

    /// SubjectPublicKeyInfo `BEGIN PUBLIC KEY` (as `openssl pkey -pubout` writes).
    public convenience init(pemRepresentation: String) throws {
        let pkey = try readPEM(pemRepresentation) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        try self.init(handle: SM2KeyHandle.checked(pkey, "PEM_read_bio_PUBKEY"))
    }

    /// 64 bytes X‖Y. Throws `invalidKey` unless the point is on the SM2 curve.
    public convenience init(rawXY: [UInt8]) throws {
        guard rawXY.count == 64 else { throw CryptoError.invalidKey("SM2 raw public key must be 64 bytes X‖Y, got \(rawXY.count)") }
        var point: [UInt8] = [0x04] + rawXY
        var group = Array("SM2".utf8CString)
        let pkey: OpaquePointer? = try withParameterKeys { groupKey, pubKey in
            guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "SM2", nil) else {
                throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new_from_name(SM2)")
            }
            defer { EVP_PKEY_CTX_free(ctx) }
            guard EVP_PKEY_fromdata_init(ctx) == 1 else { throw CryptoError.fromOpenSSL("EVP_PKEY_fromdata_init") }
            return try group.withUnsafeMutableBufferPointer { groupBuffer in
                try point.withUnsafeMutableBytes { pointBuffer in
                    // OSSL_PARAM stores the pointers it is given: keys and values must outlive
                    // the call, hence static key strings and buffers pinned by these closures.
                    var params = [
                        OSSL_PARAM_construct_utf8_string(groupKey, groupBuffer.baseAddress, 0),
                        OSSL_PARAM_construct_octet_string(pubKey, pointBuffer.baseAddress, pointBuffer.count),
                        OSSL_PARAM_construct_end(),
                    ]
                    var pkey: OpaquePointer?
                    guard EVP_PKEY_fromdata(ctx, &pkey, hc_evp_pkey_public_key_selection(), &params) == 1 else {
                        EVP_PKEY_free(pkey)
                        ERR_clear_error()
                        throw CryptoError.invalidKey("not a point on the SM2 curve")
                    }
                    return pkey
                }
            }
        }
        let handle = try SM2KeyHandle.checked(pkey, "EVP_PKEY_fromdata")
        try Self.checkPublicKey(handle.pkey)
        try self.init(handle: handle)
    }

    /// Copies only the public part of `pkey` (which may hold a private key) through SPKI DER.
    convenience init(copyingPublicPartOf pkey: OpaquePointer) throws {
        let length = i2d_PUBKEY(pkey, nil)
        guard length > 0 else { throw CryptoError.fromOpenSSL("i2d_PUBKEY") }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return i2d_PUBKEY(pkey, &cursor)
        }
        guard written == length else { throw CryptoError.fromOpenSSL("i2d_PUBKEY") }
        let publicOnly = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, Int(length))
        }
        try self.init(handle: SM2KeyHandle.checked(publicOnly, "d2i_PUBKEY"))
    }

    /// `false` for a wrong, malformed or non-DER signature; never traps and leaves no OpenSSL error queued.
    public func isValidSignature(_ derSignature: some Collection<UInt8>, for message: some Collection<UInt8>) -> Bool {
        defer { ERR_clear_error() }
        do {
            return try handle.withDigestContext(sign: false) { mdctx in
                withBytes(derSignature) { signature, signatureCount in
                    withBytes(message) { pointer, count in
                        EVP_DigestVerify(mdctx, signature, signatureCount, pointer, count) == 1
                    }
                }
            }
        } catch {
            return false
        }
    }

    private static func checkPublicKey(_ pkey: OpaquePointer) throws {
        guard let ctx = EVP_PKEY_CTX_new(pkey, nil) else { throw CryptoError.fromOpenSSL("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_public_check(ctx) == 1 else {
            ERR_clear_error()
            throw CryptoError.invalidKey("SM2 public key fails the public-key check")
        }
    }
}

/// Calls `body` with C strings for the OSSL_PARAM keys "group" and "pub" that stay valid for the
/// whole call (a Swift String passed to a `const char *` parameter is only valid during that call).
private func withParameterKeys<R>(
    _ body: (UnsafePointer<CChar>, UnsafePointer<CChar>) throws -> R
) rethrows -> R {
    try OSSL_PKEY_PARAM_GROUP_NAME.withCString { group in
        try OSSL_PKEY_PARAM_PUB_KEY.withCString { pub in try body(group, pub) }
    }
}

/// DER ↔ raw 64-byte r‖s, for gmssl and other peers that exchange raw signatures.
/// Uses OpenSSL's ECDSA_SIG DER codec (an SM2 signature has the same ASN.1 shape).
public enum SM2Signature {
    /// Throws `invalidKey` unless `der` is exactly one strict-DER SEQUENCE of two non-negative
    /// INTEGERs that each fit in 32 bytes.
    public static func rawRS(fromDER der: [UInt8]) throws -> [UInt8] {
        defer { ERR_clear_error() }
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            let sig = d2i_ECDSA_SIG(nil, &cursor, buffer.count)
            // Trailing bytes after the SEQUENCE are not part of a signature.
            if let sig, cursor != buffer.baseAddress.map({ $0 + buffer.count }) {
                ECDSA_SIG_free(sig)
                return nil
            }
            return sig
        }
        guard let sig = parsed else { throw CryptoError.invalidKey("signature is not DER") }
        defer { ECDSA_SIG_free(sig) }
        // Strict DER: re-encoding must reproduce the input (rejects BER leniencies).
        guard try encode(sig) == der else { throw CryptoError.invalidKey("signature is not strict DER") }
        var raw = [UInt8](repeating: 0, count: 64)
        let ok = raw.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let r = ECDSA_SIG_get0_r(sig), let s = ECDSA_SIG_get0_s(sig),
                BN_is_negative(r) == 0, BN_is_negative(s) == 0
            else { return false }
            return BN_bn2binpad(r, buffer.baseAddress, 32) == 32 && BN_bn2binpad(s, buffer.baseAddress! + 32, 32) == 32
        }
        guard ok else { throw CryptoError.invalidKey("signature r or s does not fit 32 bytes") }
        return raw
    }

    /// `raw` must be 64 bytes r‖s (big-endian, 32 bytes each).
    public static func der(fromRawRS raw: [UInt8]) throws -> [UInt8] {
        guard raw.count == 64 else { throw CryptoError.invalidKey("raw SM2 signature must be 64 bytes r‖s, got \(raw.count)") }
        guard let sig = ECDSA_SIG_new() else { throw CryptoError.fromOpenSSL("ECDSA_SIG_new") }
        defer { ECDSA_SIG_free(sig) }
        let (r, s) = raw.withUnsafeBufferPointer { buffer in
            (BN_bin2bn(buffer.baseAddress, 32, nil), BN_bin2bn(buffer.baseAddress! + 32, 32, nil))
        }
        // ECDSA_SIG_set0 takes ownership of r and s only when it succeeds.
        guard let r, let s, ECDSA_SIG_set0(sig, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            throw CryptoError.fromOpenSSL("ECDSA_SIG_set0")
        }
        return try encode(sig)
    }

    private static func encode(_ sig: OpaquePointer) throws -> [UInt8] {
        let length = i2d_ECDSA_SIG(sig, nil)
        guard length > 0 else { throw CryptoError.fromOpenSSL("i2d_ECDSA_SIG") }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return i2d_ECDSA_SIG(sig, &cursor)
        }
        guard written == length else { throw CryptoError.fromOpenSSL("i2d_ECDSA_SIG") }
        return der
    }
}
