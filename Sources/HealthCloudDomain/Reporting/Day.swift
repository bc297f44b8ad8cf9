/// A calendar day of Shanghai (UTC+8, no daylight saving), as a count of days since
/// 1970-01-01. Reports are per day; deadlines are Shanghai wall-clock times.
public struct Day: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let number: Int

    public init(number: Int) {
        self.number = number
    }

    /// Parses exactly `YYYY-MM-DD` of a real date (no 2026-02-30).
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            (1...12).contains(month), (1...31).contains(day), year >= 1900
        else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        guard Self.civil(fromDays: days) == (year, month, day) else { return nil }
        self.number = days
    }

    /// The Shanghai calendar day containing the instant `unixSeconds`.
    public init(shanghaiTimeOf unixSeconds: Int64) {
        self.number = Int((unixSeconds + 8 * 3600).floorDivided(by: 86_400))
    }

    public var description: String {
        let (y, m, d) = Self.civil(fromDays: number)
        return "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"
    }

    /// Unix seconds of `hour`:00 Shanghai time on this day.
    public func unixSeconds(atShanghaiHour hour: Int) -> Int64 {
        Int64(number) * 86_400 - 8 * 3600 + Int64(hour) * 3600
    }

    /// Saturday or Sunday (1970-01-01 was a Thursday). Hospital volumes follow the week.
    public var isWeekend: Bool {
        let weekday = ((number + 4) % 7 + 7) % 7  // 0 = Sunday
        return weekday == 0 || weekday == 6
    }

    public static func + (day: Day, days: Int) -> Day { Day(number: day.number + days) }
    public static func - (day: Day, days: Int) -> Day { Day(number: day.number - days) }
    public static func - (a: Day, b: Day) -> Int { a.number - b.number }
    public static func < (a: Day, b: Day) -> Bool { a.number < b.number }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let day = Day(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a YYYY-MM-DD date: \(text)"))
        }
        self = day
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Howard Hinnant's days_from_civil (proleptic Gregorian).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
