import Foundation
import HealthCloudDomain
import SwiftCSV

/// Daily new infections (confirmed + asymptomatic) by district during Shanghai's spring-2022
/// wave, from the municipal health commission's bulletins (bundled reference data), extended
/// past the last bulletin by an exponential decline so the demo shows the whole wave.
public struct EpidemicCurve: Sendable {
    /// District code → cases per wave day (day 0 = 2022-03-06, the district file's first day).
    public let casesByDistrict: [String: [Double]]
    public static let waveStart = Day("2022-03-06")!

    public static func bundled() throws -> EpidemicCurve {
        try load(
            from: try ReferenceData.resourceDirectory().appendingPathComponent("shanghai-2022"),
            districts: try ReferenceData.bundled().districts
        )
    }

    public static func load(from directory: URL, districts: [District]) throws -> EpidemicCurve {
        // Names appear as 浦东新区 and as 浦东; map both to the code.
        var codeByName: [String: String] = [:]
        for district in districts {
            codeByName[district.name] = district.code
            var short = district.name
            if short.hasSuffix("新区") { short.removeLast(2) } else if short.hasSuffix("区") { short.removeLast() }
            codeByName[short] = district.code
        }
        let csv = try NamedCSV(url: directory.appendingPathComponent("shanghai_district_data.csv"), delimiter: .comma, loadColumns: false)
        var observed: [String: [Int: Double]] = [:]
        var lastDay = 0
        for row in csv.rows {
            guard let dateText = row["date"], dateText.count == 8,
                let day = Day("\(dateText.prefix(4))-\(dateText.dropFirst(4).prefix(2))-\(dateText.suffix(2))"),
                let name = row["district"], let code = codeByName[name], let count = row["count"].flatMap(Double.init)
            else { continue }
            let index = day - waveStart
            guard index >= 0 else { continue }
            observed[code, default: [:]][index, default: 0] += count
            lastDay = max(lastDay, index)
        }
        // Gaps in the bulletins (a day without a row) take the mean of their neighbours;
        // after the last bulletin the series decays with a 6-day half-life for 70 days.
        let length = lastDay + 71
        var series: [String: [Double]] = [:]
        for district in districts {
            let points = observed[district.code] ?? [:]
            var values = [Double](repeating: 0, count: length)
            for index in 0...lastDay {
                if let value = points[index] {
                    values[index] = value
                } else if index > 0, index < lastDay, let before = points[index - 1], let after = points[index + 1] {
                    values[index] = (before + after) / 2
                }
            }
            let tail = (max(0, lastDay - 2)...lastDay).map { values[$0] }.reduce(0, +) / 3
            for index in (lastDay + 1)..<length {
                values[index] = tail * pow(0.5, Double(index - lastDay) / 6)
            }
            series[district.code] = values
        }
        return EpidemicCurve(casesByDistrict: series)
    }

    /// Cases in a district on wave day `index` (0 outside the wave).
    public func cases(district: String, waveDay index: Int) -> Double {
        guard let values = casesByDistrict[district], index >= 0, index < values.count else { return 0 }
        return values[index]
    }
}
