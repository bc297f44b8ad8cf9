import COpenSSL

/// Every failure of the GM module. Callers branch on the case; the strings are for logs only
/// and never contain key material.
public enum CryptoError: Error, CustomStringConvertible {
    /// libcrypto refused an operation; the text carries OpenSSL's own error queue.
    case openssl(String)
    /// A key (or a key-shaped parameter) has the wrong size, format or algorithm.
    case invalidKey(String)
    /// The envelope is not a well-formed `v1` field envelope (syntax, version, length).
    case invalidEnvelope(String)
    /// The envelope is well-formed but its MAC does not verify: tampered, or sealed under another key.
    case authenticationFailed
    /// The envelope names a key id this cipher or keyring does not hold.
    case unknownKeyID(String)

    public var description: String {
        switch self {
        case .openssl(let text): "OpenSSL error: \(text)"
        case .invalidKey(let text): "invalid key: \(text)"
        case .invalidEnvelope(let text): "invalid envelope: \(text)"
        case .authenticationFailed: "authentication failed"
        case .unknownKeyID(let id): "unknown key id \"\(id)\""
        }
    }

    /// Drains this thread's OpenSSL error queue into an `.openssl` error, so a failure is
    /// reported with OpenSSL's reason and no stale entry leaks into a later call.
    static func fromOpenSSL(_ operation: String) -> CryptoError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return .openssl(reasons.isEmpty ? operation : "\(operation): \(reasons.joined(separator: "; "))")
    }
}

/// Calls `body` with a non-null pointer to the bytes of `collection` and their count.
/// OpenSSL treats a NULL pointer specially in places (an HMAC key of NULL means "reuse the
/// previous key"), so an empty collection still gets a valid pointer.
@inline(__always)
func withBytes<C: Collection<UInt8>, R>(
    _ collection: C,
    _ body: (UnsafePointer<UInt8>, Int) throws -> R
) rethrows -> R {
    if let result = try collection.withContiguousStorageIfAvailable({ try callNonNull($0, body) }) {
        return result
    }
    return try Array(collection).withUnsafeBufferPointer { try callNonNull($0, body) }
}

@inline(__always)
private func callNonNull<R>(
    _ buffer: UnsafeBufferPointer<UInt8>,
    _ body: (UnsafePointer<UInt8>, Int) throws -> R
) rethrows -> R {
    if let base = buffer.baseAddress { return try body(base, buffer.count) }
    var zero: UInt8 = 0
    return try withUnsafePointer(to: &zero) { try body($0, 0) }
}

/// OpenSSL's older entry points take `int` lengths; anything larger is refused instead of truncated.
@inline(__always)
func int32Length(_ count: Int, _ what: String) throws -> Int32 {
    guard let length = Int32(exactly: count) else { throw CryptoError.openssl("\(what) too large (\(count) bytes)") }
    return length
}

/// Reads everything written into a memory BIO (`BIO_get_mem_data` is a macro Swift cannot import).
func drainMemoryBIO(_ bio: OpaquePointer) -> String? {
    let pending = BIO_ctrl_pending(bio)
    guard pending > 0, let length = Int32(exactly: pending) else { return nil }
    var bytes = [UInt8](repeating: 0, count: Int(pending))
    let read = BIO_read(bio, &bytes, length)
    guard read == length else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}
