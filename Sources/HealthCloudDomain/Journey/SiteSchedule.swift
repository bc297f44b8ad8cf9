/// When a site sees patients and how many per window. Fever clinics run around the clock;
/// community fever sentinels keep clinic hours.
public struct SiteSchedule: Sendable, Hashable, Codable {
    public struct Hours: Sendable, Hashable, Codable {
        /// Minutes after midnight, Shanghai time; `to` may be 1440.
        public var from: Int
        public var to: Int
    }

    public var hours: [Hours]
    public var slotMinutes: Int
    /// Patients per full window; a shorter last window gets its share.
    public var slotCapacity: Int

    public static func standard(for kind: SiteKind) -> SiteSchedule {
        switch kind {
        case .feverClinic: SiteSchedule(hours: [Hours(from: 0, to: 24 * 60)], slotMinutes: 60, slotCapacity: 20)
        case .feverSentinel:
            SiteSchedule(hours: [Hours(from: 8 * 60, to: 11 * 60 + 30), Hours(from: 13 * 60, to: 17 * 60)], slotMinutes: 60, slotCapacity: 10)
        }
    }

    public struct Window: Sendable, Hashable {
        public var startsAt: Int64
        public var endsAt: Int64
        public var capacity: Int
        /// `08:00`, Shanghai time.
        public var start: String
        public var end: String
    }

    /// The windows of one day.
    public func windows(on day: Day) -> [Window] {
        let midnight = day.unixSeconds(atShanghaiHour: 0)
        var windows: [Window] = []
        for block in hours {
            var start = block.from
            while start < block.to {
                let end = min(start + slotMinutes, block.to)
                let capacity = max(1, slotCapacity * (end - start) / slotMinutes)
                windows.append(
                    Window(
                        startsAt: midnight + Int64(start * 60),
                        endsAt: midnight + Int64(end * 60),
                        capacity: capacity,
                        start: Self.clock(start),
                        end: Self.clock(end)
                    )
                )
                start = end
            }
        }
        return windows
    }

    /// `HH:MM` of minutes after midnight (`24:00` for the end of the day).
    public static func clock(_ minutes: Int) -> String {
        let hour = minutes / 60
        let minute = minutes % 60
        return (hour < 10 ? "0" : "") + String(hour) + ":" + (minute < 10 ? "0" : "") + String(minute)
    }

    public var hoursText: [(from: String, to: String)] { hours.map { (Self.clock($0.from), Self.clock($0.to)) } }
}
