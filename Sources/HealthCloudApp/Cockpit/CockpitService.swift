import Foundation
import HealthCloudDomain
import HealthCloudStorage

/// Builds what the leaders' cockpit shows from the daily figures (campus reports and the
/// district and city rollups) and the warnings: the compact home screen of a scope, a metric's
/// trend and a ranking, the last two as columnar arrays.
struct CockpitService: Sendable {
    let database: AppDatabase

    /// The figures of the home screen, per domain; drugs and materials show their scarcest items.
    static let homeMetrics: [(domain: String, metrics: [String])] = [
        ("icu", ["icu.occupancyRate", "icu.freeBeds"]),
        ("feverClinic", ["feverClinic.visits", "feverClinic.positives", "feverClinic.waitingPatients"]),
        ("drugs", []),
        ("materials", []),
        ("vaccination", ["vaccination.doses"]),
        ("nucleicAcid", ["nucleicAcid.samplesTested", "nucleicAcid.positiveRate"]),
        ("medicalService", ["medicalService.outpatientVisits", "medicalService.emergencyVisits"]),
    ]
    static let sparkDays = 7
    /// What the home ranks by unless asked otherwise.
    static let defaultRanking = "feverClinic.visits"
    static let scarcestShown = 2

    struct Figure: Encodable {
        var metric: String
        var label: String
        var unit: String
        var value: Double?
        var change: Double?
        var spark: [Double?]

        // Nulls are written out: the phone tells "no report" from a missing key.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(metric, forKey: .metric)
            try container.encode(label, forKey: .label)
            try container.encode(unit, forKey: .unit)
            try container.encode(value, forKey: .value)
            try container.encode(change, forKey: .change)
            try container.encode(spark, forKey: .spark)
        }

        enum CodingKeys: String, CodingKey { case metric, label, unit, value, change, spark }
    }

    struct Domain: Encodable {
        var id: String
        var title: String
        var figures: [Figure]
    }

    struct Reporting: Encodable {
        var expected: Int
        var reported: Int
    }

    struct WarningItem: Encodable {
        var id: Int
        var level: String
        var pressure: String
        var scope: String
        var scopeName: String
        var title: String
        var value: Double
        var status: String
        var since: String
    }

    struct Warnings: Encodable {
        var open: [String: Int]
        var items: [WarningItem]
    }

    struct RankEntry: Encodable {
        var scope: String
        var name: String
        var value: Double?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(scope, forKey: .scope)
            try container.encode(name, forKey: .name)
            try container.encode(value, forKey: .value)
        }

        enum CodingKeys: String, CodingKey { case scope, name, value }
    }

    struct Ranking: Encodable {
        var metric: String
        var label: String
        var unit: String
        var level: String
        var top: [RankEntry]
        var bottom: [RankEntry]
    }

    struct Home: Encodable {
        var scope: String
        var name: String
        var level: String
        var date: Day
        var reporting: Reporting
        var domains: [Domain]
        var warnings: Warnings
        var ranking: Ranking?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(scope, forKey: .scope)
            try container.encode(name, forKey: .name)
            try container.encode(level, forKey: .level)
            try container.encode(date, forKey: .date)
            try container.encode(reporting, forKey: .reporting)
            try container.encode(domains, forKey: .domains)
            try container.encode(warnings, forKey: .warnings)
            try container.encode(ranking, forKey: .ranking)
        }

        enum CodingKeys: String, CodingKey { case scope, name, level, date, reporting, domains, warnings, ranking }
    }

    static func level(of scope: Scope) -> ScopeLevel {
        switch scope {
        case .city: .city
        case .district: .district
        default: .campus
        }
    }

    func catalog() async throws -> [String: CatalogItem] {
        Dictionary(try await database.reports.catalog().map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The newest day with figures for the scope on or before `limit` (yesterday: the latest
    /// complete day), or `limit` itself when there are none.
    func defaultDate(for scope: Scope, limit: Day) async throws -> Day {
        try await database.figures.latestDay(of: scope, onOrBefore: limit) ?? limit
    }

    /// The encoded home of a scope, from the cache or built and stored there. `date` nil: the
    /// latest complete day (one cache entry serves every leader of the scope, and the sync's
    /// `cockpitHome` record).
    func cachedHome(scope: Scope, date: Day?, rankBy: Metric, cache: CockpitCache, yesterday: Day) async throws -> CockpitCache.Body {
        let key = "home|\(scope)|\(date?.description ?? "latest")|\(rankBy.id)"
        if let body = cache.body(key) { return body }
        let day = if let date { date } else { try await defaultDate(for: scope, limit: yesterday) }
        let body = CockpitCache.Body(json: Array(try JSONResponse.encoder.encode(try await home(scope: scope, date: day, rankBy: rankBy))))
        cache.store(key, body)
        return body
    }

    func home(scope: Scope, date: Day, rankBy: Metric) async throws -> Home {
        let span = 2 * Self.sparkDays  // days of supply on the first spark day look back 6 more
        let figures = try await database.figures.figures(of: scope, from: date - (span - 1), to: date)
        let days = FiguresWindow(lastDay: date, length: span, from: figures).days
        let last = span - 1
        let names = try await catalog().mapValues(\.name)

        func figure(_ metric: Metric) -> Figure {
            let value = metric.value(days, last)
            let previous = metric.value(days, last - 1)
            let change = value.flatMap { value in previous.map { Metric.round(value - $0, metric.decimals) } }
            return Figure(
                metric: metric.id,
                label: metric.label,
                unit: metric.unit,
                value: value,
                change: change,
                spark: ((span - Self.sparkDays)...last).map { metric.value(days, $0) }
            )
        }

        var domains: [Domain] = []
        for (id, metricIds) in Self.homeMetrics {
            let title = Metrics.domainTitles.first { $0.id == id }?.title ?? id
            var metrics = metricIds.compactMap { Metrics.named($0) }
            if let kind: CatalogKind = id == "drugs" ? .drug : id == "materials" ? .material : nil {
                metrics = Metrics.scarcest(days, last, kind: kind).prefix(Self.scarcestShown).compactMap {
                    Metrics.named("\(id).daysOfSupply.\($0.code)", label: names[$0.code])
                }
            }
            domains.append(Domain(id: id, title: title, figures: metrics.map(figure)))
        }

        let counts = try await database.warnings.activeCounts(scope: scope)
        var items: [WarningItem] = []
        var scopeNames: [String: String] = [:]
        for warning in try await database.warnings.list(scope: scope, status: .active, limit: 5) {
            if scopeNames[warning.scope] == nil, let target = Scope(warning.scope) {
                scopeNames[warning.scope] = try await database.figures.name(of: target) ?? warning.scope
            }
            items.append(
                WarningItem(
                    id: warning.id,
                    level: warning.level,
                    pressure: warning.pressure,
                    scope: warning.scope,
                    scopeName: scopeNames[warning.scope] ?? warning.scope,
                    title: warning.title,
                    value: warning.value,
                    status: warning.status,
                    since: warning.openedDate
                )
            )
        }

        var ranking: Ranking?
        if Self.level(of: scope) != .campus {
            let ranked = try await rank(scope: scope, metric: rankBy, date: date, allCampuses: false)
            let present = ranked.filter { $0.value != nil }
            ranking = Ranking(
                metric: rankBy.id,
                label: rankBy.label,
                unit: rankBy.unit,
                level: Self.level(of: scope) == .city ? "district" : "campus",
                top: Array(present.prefix(3)),
                bottom: Array(present.suffix(3).reversed())
            )
        }

        return Home(
            scope: scope.description,
            name: try await database.figures.name(of: scope) ?? scope.description,
            level: Self.level(of: scope).rawValue,
            date: date,
            reporting: Reporting(expected: try await database.figures.campusCount(under: scope), reported: days[last]?.campusesReported ?? 0),
            domains: domains,
            warnings: Warnings(open: Dictionary(uniqueKeysWithValues: WarningLevel.allCases.map { ($0.rawValue, counts[$0] ?? 0) }), items: items),
            ranking: ranking
        )
    }

    /// The scopes one level down (or every campus under `scope`), highest value first,
    /// scopes without a value last.
    func rank(scope: Scope, metric: Metric, date: Day, allCampuses: Bool) async throws -> [RankEntry] {
        let kinds: Set<CatalogKind> = metric.domain == "drugs" ? [.drug] : metric.domain == "materials" ? [.material] : []
        let children = try await database.figures.children(
            of: scope,
            campuses: allCampuses,
            from: date - metric.lookBackDays,
            to: date,
            stockKinds: kinds
        )
        let entries = children.map { child in
            RankEntry(
                scope: child.scope.description,
                name: child.name,
                value: FiguresWindow(lastDay: date, length: metric.lookBackDays + 1, from: child.figures).value(of: metric)
            )
        }
        return entries.sorted { a, b in
            switch (a.value, b.value) {
            case let (x?, y?): x != y ? x > y : a.scope < b.scope
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): a.scope < b.scope
            }
        }
    }

    struct RankingColumns: Encodable {
        var metric: String
        var label: String
        var unit: String
        var scope: String
        var date: Day
        var level: String
        var scopes: [String]
        var names: [String]
        var values: [Double?]
    }

    func ranking(scope: Scope, metric: Metric, date: Day, allCampuses: Bool) async throws -> RankingColumns {
        let entries = try await rank(scope: scope, metric: metric, date: date, allCampuses: allCampuses)
        return RankingColumns(
            metric: metric.id,
            label: metric.label,
            unit: metric.unit,
            scope: scope.description,
            date: date,
            level: allCampuses || Self.level(of: scope) == .district ? "campus" : "district",
            scopes: entries.map(\.scope),
            names: entries.map(\.name),
            values: entries.map(\.value)
        )
    }

    enum Bucket: String, CaseIterable {
        case day
        case week
        case month

        /// The first day of the bucket holding `day` (weeks start on Monday).
        func start(of day: Day) -> Day {
            switch self {
            case .day: return day
            case .week: return day - ((day.number + 3) % 7 + 7) % 7
            case .month: return Day(String(day.description.prefix(8)) + "01")!
            }
        }
    }

    struct Trend: Encodable {
        var metric: String
        var label: String
        var unit: String
        var scope: String
        var bucket: String
        var from: Day
        var to: Day
        /// Bucket start days; a week or month bucket holds the mean of its daily values.
        var dates: [String]
        var values: [Double?]
    }

    func trend(scope: Scope, metric: Metric, from: Day, to: Day, bucket: Bucket) async throws -> Trend {
        let first = from - metric.lookBackDays
        let figures = try await database.figures.figures(of: scope, from: first, to: to)
        let days = FiguresWindow(lastDay: to, length: to - first + 1, from: figures).days
        var dates: [String] = []
        var values: [Double?] = []
        var current: Day?
        var sum = 0.0
        var count = 0
        func flush() {
            guard let current else { return }
            dates.append(current.description)
            values.append(count == 0 ? nil : Metric.round(sum / Double(count), metric.decimals))
        }
        for day in from.number...to.number {
            let start = bucket.start(of: Day(number: day))
            if start != current {
                flush()
                current = start
                sum = 0
                count = 0
            }
            if let value = metric.value(days, day - first.number) {
                sum += value
                count += 1
            }
        }
        flush()
        return Trend(
            metric: metric.id,
            label: metric.label,
            unit: metric.unit,
            scope: scope.description,
            bucket: bucket.rawValue,
            from: from,
            to: to,
            dates: dates,
            values: values
        )
    }
}
