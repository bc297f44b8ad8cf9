import COpenSSL

/// SM4 (GB/T 32907), the GM block cipher: 128-bit key, 128-bit block.
public enum SM4 {
    static let keySize = 16
    static let blockSize = 16

    /// One 16-byte block, ECB, no padding — for the standard vector only.
    /// Throws `invalidKey` if the key or the block is not 16 bytes.
    public static func encryptBlock(_ block: [UInt8], key: [UInt8]) throws -> [UInt8] {
        guard key.count == keySize else { throw CryptoError.invalidKey("SM4 key must be 16 bytes, got \(key.count)") }
        guard block.count == blockSize else {
            throw CryptoError.invalidKey("SM4 block must be 16 bytes, got \(block.count)")
        }
        return try crypt(EVP_sm4_ecb(), encrypt: true, padding: false, input: block, key: key, iv: nil)
    }

    /// SM4-CBC with PKCS#7 padding (field envelopes). A padding error on decryption throws
    /// `.openssl`; callers verify a MAC first, so it cannot act as a padding oracle.
    static func cbc(encrypt: Bool, _ input: some Collection<UInt8>, key: [UInt8], iv: [UInt8]) throws -> [UInt8] {
        guard key.count == keySize else { throw CryptoError.invalidKey("SM4 key must be 16 bytes, got \(key.count)") }
        guard iv.count == blockSize else { throw CryptoError.invalidKey("SM4-CBC IV must be 16 bytes, got \(iv.count)") }
        return try crypt(EVP_sm4_cbc(), encrypt: encrypt, padding: true, input: input, key: key, iv: iv)
    }

    private static func crypt(
        _ cipher: OpaquePointer?,
        encrypt: Bool,
        padding: Bool,
        input: some Collection<UInt8>,
        key: [UInt8],
        iv: [UInt8]?
    ) throws -> [UInt8] {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.fromOpenSSL("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }  // also cleanses the expanded key schedule
        let initOK = key.withUnsafeBufferPointer { keyBuffer in
            if let iv {
                return iv.withUnsafeBufferPointer { ivBuffer in
                    EVP_CipherInit_ex2(ctx, cipher, keyBuffer.baseAddress, ivBuffer.baseAddress, encrypt ? 1 : 0, nil) == 1
                }
            }
            return EVP_CipherInit_ex2(ctx, cipher, keyBuffer.baseAddress, nil, encrypt ? 1 : 0, nil) == 1
        }
        guard initOK else { throw CryptoError.fromOpenSSL("EVP_CipherInit_ex2") }
        guard EVP_CIPHER_CTX_set_padding(ctx, padding ? 1 : 0) == 1 else {
            throw CryptoError.fromOpenSSL("EVP_CIPHER_CTX_set_padding")
        }
        let inputLength = try int32Length(input.count, "SM4 input")
        var out = [UInt8](repeating: 0, count: input.count + blockSize)
        var written: Int32 = 0
        let updateOK = withBytes(input) { pointer, _ in
            out.withUnsafeMutableBufferPointer { buffer in
                EVP_CipherUpdate(ctx, buffer.baseAddress, &written, pointer, inputLength) == 1
            }
        }
        guard updateOK else { throw CryptoError.fromOpenSSL("EVP_CipherUpdate") }
        var final: Int32 = 0
        let finalOK = out.withUnsafeMutableBufferPointer { buffer in
            EVP_CipherFinal_ex(ctx, buffer.baseAddress! + Int(written), &final) == 1
        }
        guard finalOK else { throw CryptoError.fromOpenSSL("EVP_CipherFinal_ex") }
        return Array(out.prefix(Int(written + final)))
    }
}
