import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG (IVs, keys, nonces).
public enum SecureRandom {
    /// Traps only if the RNG itself is broken: continuing without randomness would be worse.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= Int32.max, "SecureRandom.bytes: count out of range")
        guard count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { buffer in
            guard let length = Int32(exactly: buffer.count) else { return false }
            return RAND_bytes(buffer.baseAddress, length) == 1
        }
        if !ok {
            ERR_clear_error()
            fatalError("SecureRandom: RAND_bytes failed; the system RNG is unusable")
        }
        return out
    }
}

/// SM3 (GB/T 32905): the GM hash, 32-byte digest.
public enum SM3 {
    public static func hash(_ data: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = withBytes(data) { pointer, count in
            EVP_Digest(pointer, count, &out, &length, EVP_sm3(), nil) == 1
        }
        // EVP_sm3 is built into libcrypto's default provider; failure means a broken installation.
        precondition(ok && length == 32, "SM3: EVP_Digest failed: \(CryptoError.fromOpenSSL("EVP_Digest"))")
        return Array(out.prefix(Int(length)))
    }
}

/// The digest under HMAC: SM3 for everything of our own, SHA-1/SHA-256 for legacy peers.
public enum HMACDigest: Sendable {
    case sm3, sha1, sha256

    /// Fetched per call on purpose: Swift 6 forbids a global cache of the `EVP_MD` pointer.
    var md: OpaquePointer? {
        switch self {
        case .sm3: EVP_sm3()
        case .sha1: EVP_sha1()
        case .sha256: EVP_sha256()
        }
    }
}

/// HMAC (RFC 2104) over OpenSSL's one-shot `HMAC()`.
public enum HMAC {
    public static func authenticationCode(
        for data: some Collection<UInt8>,
        key: some Collection<UInt8>,
        digest: HMACDigest = .sm3
    ) -> [UInt8] {
        precondition(key.count <= Int32.max, "HMAC: key longer than Int32.max bytes")
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // withBytes always yields a non-null pointer: HMAC() with a NULL key fails in 3.0.
        let result = withBytes(key) { keyPointer, keyCount in
            withBytes(data) { dataPointer, dataCount in
                COpenSSL.HMAC(digest.md, keyPointer, Int32(clamping: keyCount), dataPointer, dataCount, &out, &length)
            }
        }
        precondition(result != nil && length > 0, "HMAC failed: \(CryptoError.fromOpenSSL("HMAC"))")
        return Array(out.prefix(Int(length)))
    }
}

/// PBKDF2 (RFC 8018) with HMAC-SM3 as the PRF, for password-derived keys.
public enum PBKDF2 {
    /// Throws `invalidKey` for `iterations` or `length` outside 1...Int32.max (the C API's `int`).
    public static func deriveKey(
        password: some Collection<UInt8>,
        salt: some Collection<UInt8>,
        iterations: Int,
        length: Int = 32
    ) throws -> [UInt8] {
        guard iterations >= 1, let iter = Int32(exactly: iterations) else {
            throw CryptoError.invalidKey("PBKDF2 iterations must be in 1...\(Int32.max), got \(iterations)")
        }
        guard length >= 1, let keyLength = Int32(exactly: length) else {
            throw CryptoError.invalidKey("PBKDF2 key length must be in 1...\(Int32.max), got \(length)")
        }
        let passwordLength = try int32Length(password.count, "PBKDF2 password")
        let saltLength = try int32Length(salt.count, "PBKDF2 salt")
        var out = [UInt8](repeating: 0, count: length)
        let ok = withBytes(password) { passwordPointer, _ in
            withBytes(salt) { saltPointer, _ in
                // Pass the exact length: a password length of -1 would mean strlen().
                passwordPointer.withMemoryRebound(to: CChar.self, capacity: max(Int(passwordLength), 1)) { pass in
                    PKCS5_PBKDF2_HMAC(pass, passwordLength, saltPointer, saltLength, iter, EVP_sm3(), keyLength, &out) == 1
                }
            }
        }
        guard ok else { throw CryptoError.fromOpenSSL("PKCS5_PBKDF2_HMAC") }
        return out
    }
}
