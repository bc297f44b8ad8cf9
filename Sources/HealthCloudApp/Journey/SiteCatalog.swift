import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Synchronization

/// The sites patients are sent to, with what changes slowly kept in memory: the site list
/// (the hierarchy barely changes: five minutes) and each campus's latest fever-clinic figures
/// (one report a day; a minute old is fresh enough). Free places are counted on every ask.
final class SiteCatalog: Sendable {
    let database: AppDatabase
    private let sites = Mutex<(at: ContinuousClock.Instant, sites: [SiteRepository.SiteInfo])?>(nil)
    private let figures = Mutex<(day: Day, at: Int64, values: [Int: SiteRepository.FeverFigures])?>(nil)

    init(database: AppDatabase) {
        self.database = database
    }

    func all() async throws -> [SiteRepository.SiteInfo] {
        if let cached = sites.withLock({ $0 }), ContinuousClock.now - cached.at < .seconds(300) { return cached.sites }
        let loaded = try await database.sites.sites(kinds: [], districtCode: nil)
        // An empty list (asked before the organisations exist) is not remembered.
        if !loaded.isEmpty { sites.withLock { $0 = (ContinuousClock.now, loaded) } }
        return loaded
    }

    func site(id: Int) async throws -> SiteRepository.SiteInfo? {
        try await all().first { $0.id == id }
    }

    func feverFigures(now: Int64) async throws -> [Int: SiteRepository.FeverFigures] {
        let day = Day(shanghaiTimeOf: now)
        if let cached = figures.withLock({ $0 }), cached.day == day, now - cached.at < 60 { return cached.values }
        let values = try await database.sites.latestFeverFigures(onOrBefore: day)
        figures.withLock { $0 = (day, now, values) }
        return values
    }

    /// A site as the list and the triage show it.
    struct View: Encodable, Sendable {
        struct Hours: Encodable, Sendable {
            var from: String
            var to: String
        }

        var id: Int
        var kind: SiteKind
        var name: String
        var campusId: Int
        var campusName: String
        var institutionName: String
        var districtCode: String
        var latitude: Double
        var longitude: Double
        var distanceKm: Double?
        var hours: [Hours]
        var slotMinutes: Int
        var slotCapacity: Int
        var freeSlotsToday: Int
        var waitingPatients: Int?
        var avgWaitMinutes: Int?
        var reportDate: Day?
    }

    /// Sites of `kinds` (in that order of preference), those with a free place today first,
    /// then by distance when a location is known, else by free places.
    func ranked(kinds: [SiteKind], districtCode: String? = nil, location: (lat: Double, lng: Double)?, limit: Int, now: Int64) async throws -> [View]
    {
        let candidates = try await all().filter { kinds.contains($0.kind) && (districtCode == nil || $0.districtCode == districtCode) }
        let today = Day(shanghaiTimeOf: now)
        let free = try await database.sites.freePlaces(of: candidates, on: today, now: now)
        let figures = try await feverFigures(now: now)
        let views = candidates.map { site -> View in
            let schedule = site.schedule
            let figure = figures[site.campusId]
            let distance = location.map {
                ((Geo.distanceKm(lat1: $0.lat, lng1: $0.lng, lat2: site.latitude, lng2: site.longitude) * 100).rounded()) / 100
            }
            return View(
                id: site.id,
                kind: site.kind,
                name: site.name,
                campusId: site.campusId,
                campusName: site.campusName,
                institutionName: site.institutionName,
                districtCode: site.districtCode,
                latitude: site.latitude,
                longitude: site.longitude,
                distanceKm: distance,
                hours: schedule.hoursText.map { View.Hours(from: $0.from, to: $0.to) },
                slotMinutes: schedule.slotMinutes,
                slotCapacity: schedule.slotCapacity,
                freeSlotsToday: free[site.id] ?? 0,
                waitingPatients: figure?.waitingPatients,
                avgWaitMinutes: figure?.avgWaitMinutes,
                reportDate: figure?.date
            )
        }
        let preference = Dictionary(uniqueKeysWithValues: kinds.enumerated().map { ($1, $0) })
        return Array(
            views.sorted { a, b in
                let (pa, pb) = (preference[a.kind] ?? 0, preference[b.kind] ?? 0)
                if pa != pb { return pa < pb }
                let (fa, fb) = (a.freeSlotsToday > 0, b.freeSlotsToday > 0)
                if fa != fb { return fa }
                if let da = a.distanceKm, let db = b.distanceKm, da != db { return da < db }
                if a.freeSlotsToday != b.freeSlotsToday { return a.freeSlotsToday > b.freeSlotsToday }
                if (a.avgWaitMinutes ?? Int.max) != (b.avgWaitMinutes ?? Int.max) {
                    return (a.avgWaitMinutes ?? Int.max) < (b.avgWaitMinutes ?? Int.max)
                }
                return a.id < b.id
            }.prefix(limit)
        )
    }
}
