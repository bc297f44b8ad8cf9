import Foundation
import HTTPTypes
import Logging
import Synchronization

/// Sends text messages to phones. Production plugs in the government SMS gateway; there is
/// none here, so demo mode uses ``DevSMSSink`` and anything else refuses to pretend.
public protocol SMSSender: Sendable {
    func send(to phone: String, text: String) async throws
}

public struct SMSUnavailable: Error {}

/// No gateway configured: phone-code sign-in answers 503 rather than silently losing codes.
public struct UnconfiguredSMSSender: SMSSender {
    public init() {}
    public func send(to phone: String, text: String) async throws { throw SMSUnavailable() }
}

/// Keeps messages in memory, readable at `GET /api/v1/dev/sms-outbox` in demo mode only.
public final class DevSMSSink: SMSSender {
    public struct Message: Sendable, Codable, Equatable {
        public var phone: String
        public var text: String
        public var sentAt: Date
    }

    private let messages = Mutex<[Message]>([])
    /// Oldest messages are dropped beyond this many.
    private let capacity = 1_000

    public init() {}

    public func send(to phone: String, text: String) async throws {
        messages.withLock { messages in
            messages.append(Message(phone: phone, text: text, sentAt: Date()))
            if messages.count > capacity { messages.removeFirst(messages.count - capacity) }
        }
    }

    /// Newest first.
    public func messages(to phone: String) -> [Message] {
        messages.withLock { $0.filter { $0.phone == phone }.reversed() }
    }
}
