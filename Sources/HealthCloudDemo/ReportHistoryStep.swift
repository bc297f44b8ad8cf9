import Foundation
import HealthCloudDomain
import HealthCloudStorage

/// The catalog of strategic drugs and materials the daily report lists.
public struct CatalogStep: DemoStep {
    public let name = "catalog"
    public let title = "Catalog: strategic drugs and materials"

    public init() {}

    public static let items: [CatalogItem] = [
        CatalogItem(code: "PAXLOVID", kind: .drug, name: "奈玛特韦片/利托那韦片组合包装", unit: "盒"),
        CatalogItem(code: "AZVUDINE", kind: .drug, name: "阿兹夫定片", unit: "瓶"),
        CatalogItem(code: "MOLNUPIRAVIR", kind: .drug, name: "莫诺拉韦胶囊", unit: "盒"),
        CatalogItem(code: "OSELTAMIVIR", kind: .drug, name: "磷酸奥司他韦胶囊", unit: "盒"),
        CatalogItem(code: "DEXAMETHASONE", kind: .drug, name: "地塞米松磷酸钠注射液", unit: "支"),
        CatalogItem(code: "ENOXAPARIN", kind: .drug, name: "依诺肝素钠注射液", unit: "支"),
        CatalogItem(code: "IBUPROFEN", kind: .drug, name: "布洛芬缓释胶囊", unit: "盒"),
        CatalogItem(code: "ACETAMINOPHEN", kind: .drug, name: "对乙酰氨基酚片", unit: "盒"),
        CatalogItem(code: "N95", kind: .material, name: "医用防护口罩（N95）", unit: "只"),
        CatalogItem(code: "SURGICAL_MASK", kind: .material, name: "医用外科口罩", unit: "只"),
        CatalogItem(code: "PROTECTIVE_SUIT", kind: .material, name: "医用一次性防护服", unit: "套"),
        CatalogItem(code: "GOGGLES", kind: .material, name: "医用护目镜", unit: "副"),
        CatalogItem(code: "ANTIGEN_KIT", kind: .material, name: "新冠病毒抗原检测试剂盒", unit: "人份"),
        CatalogItem(code: "O2_CONCENTRATOR", kind: .material, name: "医用制氧机", unit: "台"),
        CatalogItem(code: "VENTILATOR", kind: .material, name: "有创呼吸机", unit: "台"),
        CatalogItem(code: "ECMO", kind: .material, name: "体外膜肺氧合（ECMO）", unit: "台"),
    ]

    public func run(_ context: DemoContext, progress: any DemoProgress) async throws -> String {
        try await context.database.reports.upsertCatalog(Self.items)
        return "\(Self.items.filter { $0.kind == .drug }.count) drugs, \(Self.items.filter { $0.kind == .material }.count) materials"
    }
}

/// Two years of daily reports for every campus, ending yesterday, sent through the real
/// ingestion and quality control. The spring-2022 Shanghai wave (real district curves) is
/// replayed so that its peak falls about five months ago: fever visits, positives,
/// inpatients, ICU occupancy and drug and material consumption rise and fall with it. A
/// realistic sprinkling of late, missing, rejected-then-fixed and corrected reports gives
/// quality control something to show.
public struct ReportHistoryStep: DemoStep {
    public let name = "report-history"
    public var title: String { "Reports: \(days) days for every campus through ingestion and QC" }
    public var days: Int
    /// Days per ingestion batch (one history load per batch).
    public var batchDays = 30

    public init(days: Int = 730) {
        self.days = days
    }

    struct Profile {
        let id: Int
        let district: String
        let kind: InstitutionKind
        let level: InstitutionLevel
        let hasFeverClinic: Bool
        let hasSentinel: Bool
        /// Relative size: 1 ≈ a large municipal general hospital.
        let size: Double
        let icuBeds: Int
        let isolationRooms: Int
        let testingCapacity: Int
    }

    /// Everything the generator needs that comes from the database and reference data.
    struct Setting {
        let profiles: [Profile]
        let curve: EpidemicCurve
        let population: [String: Double]
        let today: Day
        let waveDayZero: Day
    }

    func setting(_ context: DemoContext) async throws -> Setting {
        let curve = try EpidemicCurve.bundled()
        let population = Dictionary(uniqueKeysWithValues: context.reference.districts.map { ($0.code, Double($0.population) / 10_000) })
        let profiles = try await context.database.demo.campusProfiles().map { row -> Profile in
            let id = row.id
            let kind = row.kind
            let level = row.level
            var random = SeededRandom(seed: context.seed &* 31 &+ UInt64(id))
            let base: Double =
                switch (level, kind) {
                case (.municipal, .general): 1.0
                case (.municipal, _): 0.6
                case (.district, .community): 0.12
                case (.district, .general): 0.45
                default: 0.3
                }
            let size = base * random.uniform(in: 0.75...1.25)
            let icu = kind == .community ? 0 : Int((size * 40).rounded())
            let clinics = row.feverClinics
            let sentinels = row.feverSentinels
            return Profile(
                id: id,
                district: row.districtCode,
                kind: kind,
                level: level,
                hasFeverClinic: clinics > 0,
                hasSentinel: sentinels > 0,
                size: size,
                icuBeds: max(kind == .community ? 0 : 4, icu),
                isolationRooms: clinics > 0 ? Int((size * 20).rounded()) + 4 : (sentinels > 0 ? 2 : 0),
                testingCapacity: Int((size * 3_000).rounded()) + 200
            )
        }
        let today = Day(shanghaiTimeOf: Int64(context.today.timeIntervalSince1970))
        // The wave's first day lands 200 days ago: its peak about five months back, its tail
        // gone some weeks before today.
        return Setting(profiles: profiles, curve: curve, population: population, today: today, waveDayZero: today - 200)
    }

    public func run(_ context: DemoContext, progress: any DemoProgress) async throws -> String {
        let setting = try await setting(context)
        let today = setting.today
        let firstDay = today - days
        var stock: [Int: [String: Int]] = [:]
        progress.setTotal(days * setting.profiles.count)

        var totals = (accepted: 0, warnings: 0, rejected: 0, pending: 0, corrections: 0, missing: 0)
        var batchStart = firstDay
        while batchStart < today {
            let batchEnd = min(today - 1, batchStart + (batchDays - 1))
            let (submissions, missing) = makeSubmissions(setting, from: batchStart, through: batchEnd, seed: context.seed, stock: &stock)
            totals.missing += missing
            let results = try await context.database.ingestion.ingest(submissions, today: today, now: Int64(context.today.timeIntervalSince1970))
            for result in results {
                switch result {
                case .accepted(_, let status, _, let created):
                    if created { totals.accepted += 1 } else { totals.corrections += 1 }
                    if status == "accepted_with_warnings" { totals.warnings += 1 }
                case .rejected: totals.rejected += 1
                case .pendingApproval: totals.pending += 1
                case .correctionReasonRequired, .unknownCampus: break
                }
            }
            progress.advance(by: (batchEnd - batchStart + 1) * setting.profiles.count)
            batchStart = batchEnd + 1
        }
        return "\(totals.accepted) reports (\(totals.warnings) with warnings), \(totals.corrections) corrections, "
            + "\(totals.rejected) rejected attempts, \(totals.missing) missing, \(firstDay)…\(today - 1)"
    }

    /// The spring-2022 wave on its real dates, for `tools/replay-2022`: every campus's clean
    /// reports (none missing, late or broken) for each day from `first` through `last`, with
    /// the district curves' first day on 2022-03-06 as it was.
    public func replay2022(_ context: DemoContext, from first: Day, through last: Day) async throws -> [(day: Day, submissions: [ReportSubmission])] {
        let base = try await setting(context)
        let setting = Setting(
            profiles: base.profiles,
            curve: base.curve,
            population: base.population,
            today: last + 1,
            waveDayZero: EpidemicCurve.waveStart
        )
        var stock: [Int: [String: Int]] = [:]
        var days: [(day: Day, submissions: [ReportSubmission])] = []
        var day = first
        while day <= last {
            days.append((day, makeSubmissions(setting, from: day, through: day, seed: context.seed, stock: &stock, sprinkle: false).0))
            day = day + 1
        }
        return days
    }

    /// Times one more day — `day`, for every campus — as one batch through ingestion and QC.
    /// One more day of every campus as one batch; `profile` collects where its time went.
    public func benchmarkDay(_ context: DemoContext, day: Day, profile: IngestionProfile? = nil) async throws -> (reports: Int, seconds: Double) {
        let setting = try await setting(context)
        var stock: [Int: [String: Int]] = [:]
        let (all, _) = makeSubmissions(setting, from: day, through: day, seed: context.seed ^ 0xBEEF, stock: &stock, sprinkle: false)
        let start = ContinuousClock.now
        _ = try await IngestionProfile.$current.withValue(profile) {
            try await context.database.ingestion.ingest(all, today: setting.today)
        }
        let elapsed = ContinuousClock.now - start
        return (all.count, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// The submissions of every campus for the days in range (with the sprinkling of missing,
    /// late, broken and corrected reports unless `sprinkle` is false); returns them and how
    /// many campus-days were left missing.
    func makeSubmissions(
        _ setting: Setting,
        from first: Day,
        through last: Day,
        seed: UInt64,
        stock: inout [Int: [String: Int]],
        sprinkle: Bool = true
    ) -> ([ReportSubmission], Int) {
        var submissions: [ReportSubmission] = []
        submissions.reserveCapacity((last - first + 1) * setting.profiles.count + 64)
        var missing = 0
        var day = first
        while day <= last {
            for profile in setting.profiles {
                var random = SeededRandom(seed: seed ^ (UInt64(profile.id) << 32) ^ UInt64(day.number))
                let chance = sprinkle ? random.uniform(in: 0...1) : 0.5
                let recent = setting.today - day <= 7
                if chance < (recent ? 0.03 : 0.01) {
                    missing += 1
                    _ = advanceStock(&stock, profile: profile, wave: 0, random: &random)
                    continue
                }
                let waveIndex = day - setting.waveDayZero
                let casesPer10k =
                    setting.curve.cases(district: profile.district, waveDay: waveIndex) / max(1, setting.population[profile.district] ?? 100)
                let wave = min(1, casesPer10k / 8)
                var report = generate(profile: profile, day: day, wave: wave, random: &random)
                let (drugs, materials) = advanceStock(&stock, profile: profile, wave: wave, random: &random)
                report["drugs"] = .array(drugs)
                report["materials"] = .array(materials)
                if chance > 0.995 { report["vaccination"] = nil }  // a forgotten section: a warning
                var submittedAt = (day + 1).unixSeconds(atShanghaiHour: 8) + Int64(random.uniform(in: 0...7_000))
                if chance >= 0.01 && chance < 0.04 { submittedAt = (day + 1).unixSeconds(atShanghaiHour: 13) + Int64(random.uniform(in: 0...18_000)) }
                if chance >= 0.04 && chance < 0.045, case .object(var icu) = report["icu"] ?? .null {
                    // First attempt breaks a hard rule and is rejected; the fixed one follows at 10:30.
                    let total = icu["bedsTotal"].flatMap { if case .integer(let v) = $0 { Int(v) } else { nil } } ?? 0
                    icu["bedsOccupied"] = .integer(Int64(total + 3))
                    var broken = report
                    broken["icu"] = .object(icu)
                    submissions.append(
                        ReportSubmission(
                            campusId: profile.id,
                            date: day,
                            body: .object(broken),
                            correctionReason: nil,
                            submittedBy: nil,
                            submittedAt: submittedAt
                        )
                    )
                    submittedAt = (day + 1).unixSeconds(atShanghaiHour: 10) + 1_800
                }
                submissions.append(
                    ReportSubmission(
                        campusId: profile.id,
                        date: day,
                        body: .object(report),
                        correctionReason: nil,
                        submittedBy: nil,
                        submittedAt: submittedAt
                    )
                )
                if chance >= 0.045 && chance < 0.048, case .object(var service) = report["medicalService"] ?? .null {
                    // A correction the next afternoon: emergency visits were under-counted.
                    if case .integer(let value) = service["emergencyVisits"] ?? .null { service["emergencyVisits"] = .integer(value + 7) }
                    var corrected = report
                    corrected["medicalService"] = .object(service)
                    submissions.append(
                        ReportSubmission(
                            campusId: profile.id,
                            date: day,
                            body: .object(corrected),
                            correctionReason: "更正：急诊人次漏报 7 人次",
                            submittedBy: nil,
                            submittedAt: (day + 1).unixSeconds(atShanghaiHour: 16),
                            submitterMayApprove: true
                        )
                    )
                }
            }
            day = day + 1
        }
        return (submissions, missing)
    }

    func generate(profile: Profile, day: Day, wave: Double, random: inout SeededRandom) -> [String: JSONValue] {
        func noisy(_ value: Double, _ spread: Double = 0.08) -> Int64 {
            Int64(max(0, (value * random.uniform(in: (1 - spread)...(1 + spread))).rounded()))
        }
        let dayOfYear = Double(((day.number % 365) + 365) % 365)
        let season = 1 + 0.15 * cos(2 * Double.pi * (dayOfYear - 15) / 365)
        let weekday = (day.number + 4) % 7  // 0 = Sunday (1970-01-01 was a Thursday)
        let weekFactor = (weekday == 0 || weekday == 6) ? 0.65 : 1.0
        let lockdown = 1 - 0.45 * wave
        let size = profile.size

        let outpatient = 3_600 * size * season * weekFactor * lockdown
        let admissions = 160 * size * season * lockdown
        let beds = 1_400 * size
        var sections: [String: JSONValue] = [:]
        sections["medicalService"] = .object([
            "outpatientVisits": .integer(noisy(outpatient)),
            "emergencyVisits": .integer(noisy(260 * size * season * (1 + 0.8 * wave))),
            "admissions": .integer(noisy(admissions)),
            "discharges": .integer(noisy(admissions * 0.98)),
            "inpatients": .integer(noisy(beds * (0.86 + 0.1 * wave), 0.03)),
            "surgeries": .integer(noisy(70 * size * weekFactor * lockdown)),
            "internetConsultations": .integer(noisy(90 * size * (1 + 4 * wave))),
        ])
        let feverBase = profile.hasFeverClinic ? 110 * size / max(0.3, size) * min(1.4, 0.6 + size) : (profile.hasSentinel ? 14 : 0)
        let feverVisits = feverBase * season * season * (1 + 9 * wave)
        let visits = noisy(feverVisits, 0.12)
        let positivity = 0.015 + 0.32 * wave
        let positives = min(visits, noisy(Double(visits) * positivity, 0.2))
        let rooms = Int64(profile.isolationRooms)
        sections["feverClinic"] = .object([
            "visits": .integer(visits),
            "positives": .integer(positives),
            "referralsOut": .integer(noisy(Double(positives) * 0.12, 0.3)),
            "waitingPatients": .integer(noisy(Double(visits) * (0.04 + 0.12 * wave), 0.3)),
            "avgWaitMinutes": .integer(visits == 0 ? 0 : noisy(18 + 70 * wave, 0.15)),
            "isolationRoomsTotal": .integer(rooms),
            "isolationRoomsOccupied": .integer(min(rooms, noisy(Double(rooms) * (0.15 + 0.8 * wave), 0.2))),
        ])
        let doses = noisy(60 * size * weekFactor * (1 + 2.5 * wave), 0.2)
        let first = Int64(Double(doses) * random.uniform(in: 0.1...0.25))
        let booster = Int64(Double(doses) * random.uniform(in: 0.5...0.7))
        sections["vaccination"] = .object([
            "doses": .integer(doses), "firstDoses": .integer(first), "boosterDoses": .integer(min(doses - first, booster)),
            "dosesAge60Plus": .integer(Int64(Double(doses) * random.uniform(in: 0.3...0.55))),
        ])
        let capacity = Int64(profile.testingCapacity)
        let collected = min(capacity, noisy(Double(capacity) * (0.25 + 0.7 * wave), 0.1))
        let tested = Int64(Double(collected) * random.uniform(in: 0.96...1.0))
        sections["nucleicAcid"] = .object([
            "samplesCollected": .integer(collected), "samplesTested": .integer(tested),
            "positives": .integer(min(tested, noisy(Double(tested) * (0.0008 + 0.035 * wave), 0.3))),
            "avgTurnaroundHours": .integer(noisy(6 + 14 * wave, 0.15)),
            "dailyCapacity": .integer(capacity),
        ])
        let icuBeds = Int64(profile.icuBeds)
        let occupied = min(icuBeds, noisy(Double(icuBeds) * (0.62 + 0.36 * wave), 0.08))
        let ventilators = Int64(Double(icuBeds) * 0.8)
        sections["icu"] = .object([
            "bedsTotal": .integer(icuBeds), "bedsOccupied": .integer(occupied),
            "convertibleBeds": .integer(Int64(Double(icuBeds) * 0.3)),
            "ventilatorsTotal": .integer(ventilators),
            "ventilatorsInUse": .integer(min(ventilators, Int64(Double(occupied) * random.uniform(in: 0.35...0.6)))),
        ])
        return sections
    }

    /// Moves every catalog item's stock one day on (consumption, deliveries when low, and
    /// rarely an unexplained loss) and returns the day's stock lines.
    func advanceStock(_ stock: inout [Int: [String: Int]], profile: Profile, wave: Double, random: inout SeededRandom) -> ([JSONValue], [JSONValue]) {
        var drugs: [JSONValue] = []
        var materials: [JSONValue] = []
        for (index, item) in CatalogStep.items.enumerated() {
            let scale: Double =
                switch item.code {
                case "N95", "SURGICAL_MASK": 900
                case "ANTIGEN_KIT": 400
                case "PROTECTIVE_SUIT": 120
                case "GOGGLES": 30
                case "O2_CONCENTRATOR", "VENTILATOR", "ECMO": 0.4
                case "PAXLOVID", "AZVUDINE", "MOLNUPIRAVIR": 12
                default: 40
                }
            let sensitivity: Double =
                ["PAXLOVID", "AZVUDINE", "MOLNUPIRAVIR", "N95", "PROTECTIVE_SUIT", "ANTIGEN_KIT", "IBUPROFEN", "ACETAMINOPHEN"]
                    .contains(item.code) ? 6 : 1.5
            let daily = scale * profile.size * (1 + sensitivity * wave)
            let consumed = Int(max(0, (daily * random.uniform(in: 0.7...1.3)).rounded()))
            let target = Int((scale * profile.size * 30).rounded()) + 2
            var current = stock[profile.id]?[item.code] ?? target
            current = max(0, current - consumed)
            if current < target / 3 { current += target }  // a delivery
            if random.uniform(in: 0...1) < 0.0015 { current = max(0, current - max(8, target / 5)) }  // breakage or expiry, unexplained
            stock[profile.id, default: [:]][item.code] = current
            let line = JSONValue.object(["code": .string(item.code), "stock": .integer(Int64(current)), "consumed": .integer(Int64(consumed))])
            if index < 8 { drugs.append(line) } else { materials.append(line) }
        }
        return (drugs, materials)
    }
}
