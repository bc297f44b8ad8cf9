import Foundation

/// The tests' calendar. Every test that makes demo data or asks what time it is runs on it,
/// so what a test sees does not move with the real date (a suite once failed on a fresh clone
/// because its demo history followed the calendar).
///
/// `HC_TEST_DATE` sets where it starts: `YYYY-MM-DD` (10:00 in Shanghai that day) or a full
/// ISO 8601 instant. Unset, it is `defaultDate`. From there it runs forward at real speed, so
/// sessions, rate windows and long polls behave as they do in production.
public enum TestClock {
    public static let defaultDate = "2026-06-15"

    /// The instant the clock starts at.
    public static let start: Date = {
        let text = ProcessInfo.processInfo.environment["HC_TEST_DATE"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultDate
        guard let date = parse(text) else {
            fatalError("HC_TEST_DATE=\(text) is neither YYYY-MM-DD nor an ISO 8601 instant")
        }
        return date
    }()

    private static let startedAt = ContinuousClock.now

    /// The tests' "now": `start` plus the real time elapsed since the clock was first read.
    public static var now: Date {
        _ = start
        let elapsed = ContinuousClock.now - startedAt
        return start.addingTimeInterval(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// `YYYY-MM-DD` as 10:00 Asia/Shanghai (02:00 UTC), or an ISO 8601 instant as given.
    public static func parse(_ text: String) -> Date? {
        if text.count == 10, let day = try? Date("\(text)T02:00:00Z", strategy: .iso8601) {
            return day
        }
        return try? Date(text, strategy: .iso8601)
    }
}
