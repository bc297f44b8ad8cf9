import Foundation
import Synchronization

/// The time the server believes it is. Tests move it to prove expiry.
public struct AppClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) {
        self.read = read
    }

    public static let system = AppClock { Date() }

    public var now: Date { read() }
    public var seconds: Int64 { Int64(read().timeIntervalSince1970.rounded(.down)) }
}

/// A clock a test sets and advances.
public final class ManualClock: Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date) {
        current = Mutex(start)
    }

    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    public var clock: AppClock {
        AppClock { [self] in current.withLock { $0 } }
    }
}
