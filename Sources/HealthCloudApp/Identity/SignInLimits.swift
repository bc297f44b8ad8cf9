import Foundation
import Synchronization

/// A rate: at most `count` events per `seconds`, as a token bucket (a burst of `count`, then
/// one more every `seconds / count`). Settings spell it `COUNT/SECONDS`, e.g. `30/300`.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var seconds: Int64

    public init(_ count: Int, per seconds: Int64) {
        self.count = max(1, count)
        self.seconds = max(1, seconds)
    }

    /// `COUNT/SECONDS` with both at least 1.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0]), let seconds = Int64(parts[1]), count >= 1, seconds >= 1,
            count <= 1_000_000, seconds <= 86_400 * 30
        else { return nil }
        self.init(count, per: seconds)
    }

    public var description: String { "\(count)/\(seconds)" }
}

/// Token buckets by key, in memory and per instance (cross-instance limits belong with the
/// cluster work). Time is the app clock's, in milliseconds, so tests move it by hand.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updatedAt: Int64
    }

    let limit: RateLimit
    private let buckets = Mutex<[String: Bucket]>([:])
    /// Beyond this many keys, full buckets (nothing to remember) are dropped first.
    private let capacity: Int

    init(_ limit: RateLimit, capacity: Int = 100_000) {
        self.limit = limit
        self.capacity = capacity
    }

    /// Milliseconds per token.
    private var interval: Double { Double(limit.seconds) * 1000 / Double(limit.count) }

    /// Takes one token for `key`: nil when allowed, else the whole seconds until one is free.
    func take(_ key: String, nowMillis: Int64) -> Int64? {
        buckets.withLock { buckets in
            var bucket = refilled(buckets[key], now: nowMillis)
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                store(bucket, key, in: &buckets, now: nowMillis)
                return nil
            }
            return max(1, Int64(((1 - bucket.tokens) * interval / 1000).rounded(.up)))
        }
    }

    /// Seconds until `key` has a token again, without taking one (nil: it has one now).
    func wait(_ key: String, nowMillis: Int64) -> Int64? {
        buckets.withLock { buckets in
            let bucket = refilled(buckets[key], now: nowMillis)
            return bucket.tokens >= 1 ? nil : max(1, Int64(((1 - bucket.tokens) * interval / 1000).rounded(.up)))
        }
    }

    /// Takes a token if there is one (for counting events that are never refused themselves).
    func spend(_ key: String, nowMillis: Int64) {
        buckets.withLock { buckets in
            var bucket = refilled(buckets[key], now: nowMillis)
            bucket.tokens = max(0, bucket.tokens - 1)
            store(bucket, key, in: &buckets, now: nowMillis)
        }
    }

    private func refilled(_ bucket: Bucket?, now: Int64) -> Bucket {
        guard var bucket else { return Bucket(tokens: Double(limit.count), updatedAt: now) }
        let elapsed = Double(max(0, now - bucket.updatedAt))
        bucket.tokens = min(Double(limit.count), bucket.tokens + elapsed / interval)
        bucket.updatedAt = now
        return bucket
    }

    private func store(_ bucket: Bucket, _ key: String, in buckets: inout [String: Bucket], now: Int64) {
        buckets[key] = bucket
        guard buckets.count > capacity else { return }
        buckets = buckets.filter { refilled($0.value, now: now).tokens < Double(limit.count) }
        if buckets.count > capacity { buckets.removeAll(keepingCapacity: true) }
    }
}

/// Failed staff sign-ins, counted per (username, client) for the lockout and per username
/// for the slower account throttle. Unknown usernames are counted exactly like real ones, so
/// neither reveals which usernames exist. A lockout never ends sessions: the only thing it
/// proves is that someone at that address does not know the password.
final class SignInGuard: Sendable {
    private struct Pair {
        var failures: Int
        var lockedUntil: Int64
        var lastFailure: Int64
    }

    let threshold: Int
    let lockSeconds: Int64
    /// Failures of one username from clients it has not signed in from.
    let accountFailures: RateLimiter
    private let pairs = Mutex<[String: Pair]>([:])
    private let capacity = 100_000

    init(threshold: Int, lockSeconds: Int64, accountFailures: RateLimit) {
        self.threshold = threshold
        self.lockSeconds = lockSeconds
        self.accountFailures = RateLimiter(accountFailures)
    }

    static func pairKey(_ username: String, _ client: String) -> String { "\(username.prefix(128))\u{0}\(client)" }

    enum Refusal: Equatable {
        /// The username is locked for this client until then (seconds).
        case locked(until: Int64)
        /// The username is throttled for clients it has not signed in from; retry after seconds.
        case throttled(retryAfter: Int64)
    }

    /// Whether an attempt may go ahead. A client the account has signed in from before is
    /// never throttled by failures elsewhere, so an attack cannot keep the owner out.
    func check(username: String, client: String, recognised: Bool, now: Int64, nowMillis: Int64) -> Refusal? {
        let until = pairs.withLock { $0[Self.pairKey(username, client)]?.lockedUntil ?? 0 }
        if until > now { return .locked(until: until) }
        if !recognised, let wait = accountFailures.wait(username, nowMillis: nowMillis) { return .throttled(retryAfter: wait) }
        return nil
    }

    /// Counts a failure; returns the lock's end when this failure locked the pair.
    func fail(username: String, client: String, recognised: Bool, now: Int64, nowMillis: Int64) -> Int64? {
        if !recognised { accountFailures.spend(username, nowMillis: nowMillis) }
        return pairs.withLock { pairs in
            if pairs.count > capacity {
                pairs = pairs.filter { $0.value.lockedUntil > now || now - $0.value.lastFailure < lockSeconds }
                if pairs.count > capacity { pairs.removeAll(keepingCapacity: true) }
            }
            let key = Self.pairKey(username, client)
            var pair = pairs[key] ?? Pair(failures: 0, lockedUntil: 0, lastFailure: now)
            // A run of failures is "in a row" within one lock period; an old run is forgotten.
            if now - pair.lastFailure >= lockSeconds { pair.failures = 0 }
            pair.failures += 1
            pair.lastFailure = now
            if pair.failures >= threshold {
                pair = Pair(failures: 0, lockedUntil: now + lockSeconds, lastFailure: now)
                pairs[key] = pair
                return pair.lockedUntil
            }
            pairs[key] = pair
            return nil
        }
    }

    /// A complete sign-in from this client ends its run of failures.
    func succeed(username: String, client: String) {
        _ = pairs.withLock { $0.removeValue(forKey: Self.pairKey(username, client)) }
    }
}
