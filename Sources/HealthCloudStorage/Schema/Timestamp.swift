import Foundation

/// Timestamps are stored as ISO 8601 text in UTC (sortable and readable on both engines).
public enum Timestamp {
    public static func nowISO8601() -> String {
        iso8601(Date())
    }

    public static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
