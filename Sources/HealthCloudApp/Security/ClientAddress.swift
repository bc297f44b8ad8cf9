import Foundation
import HTTPTypes
import Hummingbird

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The proxies (nginx at the government-cloud gateway) whose `X-Forwarded-For` is believed:
/// addresses or CIDR ranges (`HEALTHCLOUD_TRUSTED_PROXIES=10.0.0.5,10.1.0.0/16,::1`). From
/// any other peer the header is ignored, since anyone can send it.
public struct TrustedProxies: Sendable, Equatable {
    struct Range: Sendable, Equatable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for (a, b) in zip(address, bytes) where left > 0 {
                let bits = min(8, left)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if a & mask != b & mask { return false }
                left -= bits
            }
            return true
        }
    }

    var ranges: [Range] = []

    public init() {}

    /// A comma- or space-separated list; nil when an entry is not an address or range.
    public init?(_ text: String) {
        for entry in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            let parts = entry.split(separator: "/", maxSplits: 1)
            guard let bytes = ClientAddress.bytes(String(parts[0])) else { return nil }
            var prefix = bytes.count * 8
            if parts.count == 2 {
                guard let value = Int(parts[1]), (0...prefix).contains(value) else { return nil }
                prefix = value
            }
            ranges.append(Range(bytes: bytes, prefix: prefix))
        }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    public func contains(_ address: String) -> Bool {
        guard !ranges.isEmpty, let bytes = ClientAddress.bytes(address) else { return false }
        return ranges.contains { $0.contains(bytes) }
    }
}

enum ClientAddress {
    /// The address's bytes (4 or 16), an IPv4-mapped IPv6 address as IPv4; nil if not an address.
    static func bytes(_ text: String) -> [UInt8]? {
        let text = text.trimmingCharacters(in: .whitespaces)
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }

    /// The canonical text of an address (so `::ffff:1.2.3.4` and `1.2.3.4` are one client).
    static func canonical(_ text: String) -> String? {
        guard var bytes = bytes(text) else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &bytes, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(cString: buffer)
    }

    /// The client behind `peer`: the peer itself, unless it is a trusted proxy; then the
    /// nearest address in `X-Forwarded-For` (read from the right) that is not a trusted proxy.
    /// A malformed entry stops the walk at the last proxy that was trusted.
    static func resolve(peer: String, forwardedFor: [String], trusted: TrustedProxies) -> String {
        let peer = canonical(peer) ?? peer
        guard trusted.contains(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peer
        for hop in hops.reversed() {
            guard let address = canonical(hop) else { break }
            client = address
            if !trusted.contains(address) { break }
        }
        return client
    }

    /// The key rate limits count a client under: IPv6 clients by their /64 (one subscriber
    /// holds a whole /64, so counting single addresses would let it rotate past the limit).
    static func limitKey(_ address: String) -> String {
        guard let bytes = bytes(address), bytes.count == 16 else { return address }
        return bytes[0..<8].map { String(format: "%02x", $0) }.joined() + "::/64"
    }
}

/// Sets `context.clientIP` to the real client (see ``ClientAddress/resolve``); outermost, so
/// the audit log, sessions and sign-in limits all see the same address.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    let trusted: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.clientIP = ClientAddress.resolve(peer: context.clientIP, forwardedFor: request.headers[values: Self.forwardedFor], trusted: trusted)
        return try await next(request, context)
    }
}
