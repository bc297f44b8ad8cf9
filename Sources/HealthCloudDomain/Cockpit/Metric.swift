/// A figure leaders read: a report field as reported (`icu.bedsOccupied`), or one derived from
/// the fields (`icu.occupancyRate`, `drugs.minDaysOfSupply`). Trend, ranking, the cockpit home
/// and the warning rules all name metrics by these ids.
public struct Metric: Sendable {
    public let id: String
    public let label: String
    public let unit: String
    /// Which of the seven cockpit domains it belongs to.
    public let domain: String
    public let decimals: Int
    /// Whether it is summed up the hierarchy (counts) rather than derived from sums (rates).
    public let isCount: Bool
    /// Days before the judged one that the metric reads (days of supply: 6; a baseline: 28).
    public let lookBackDays: Int
    private let compute: @Sendable (_ days: [DayFigures?], _ index: Int) -> Double?

    init(
        _ id: String,
        _ label: String,
        unit: String,
        decimals: Int = 0,
        isCount: Bool = false,
        lookBackDays: Int = 0,
        compute: @escaping @Sendable ([DayFigures?], Int) -> Double?
    ) {
        self.lookBackDays = lookBackDays
        self.id = id
        self.label = label
        self.unit = unit
        self.domain = String(id.split(separator: ".")[0])
        self.decimals = decimals
        self.isCount = isCount
        self.compute = compute
    }

    /// The metric on `days[index]`, looking back at earlier days where it needs to; rounded to
    /// its decimals. Nil when the day is missing or the metric is undefined (a rate of nothing).
    public func value(_ days: [DayFigures?], _ index: Int) -> Double? {
        guard days.indices.contains(index), let raw = compute(days, index), raw.isFinite else { return nil }
        return Metric.round(raw, decimals)
    }

    /// `value` rounded half away from zero to `decimals` places.
    public static func round(_ value: Double, _ decimals: Int) -> Double {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return (value * scale).rounded() / scale
    }
}

public enum Metrics {
    /// Chinese labels and units of the report's count fields.
    static let fieldLabels: [String: (String, String)] = [
        "medicalService.outpatientVisits": ("门诊人次", "人次"),
        "medicalService.emergencyVisits": ("急诊人次", "人次"),
        "medicalService.admissions": ("入院人数", "人"),
        "medicalService.discharges": ("出院人数", "人"),
        "medicalService.inpatients": ("在院人数", "人"),
        "medicalService.surgeries": ("手术台次", "台"),
        "medicalService.internetConsultations": ("互联网诊疗人次", "人次"),
        "feverClinic.visits": ("发热门诊就诊人次", "人次"),
        "feverClinic.positives": ("发热门诊阳性", "人"),
        "feverClinic.referralsOut": ("发热门诊转出", "人"),
        "feverClinic.waitingPatients": ("发热门诊候诊", "人"),
        "feverClinic.avgWaitMinutes": ("平均候诊时长", "分钟"),
        "feverClinic.isolationRoomsTotal": ("留观室", "间"),
        "feverClinic.isolationRoomsOccupied": ("在用留观室", "间"),
        "vaccination.doses": ("疫苗接种剂次", "剂次"),
        "vaccination.firstDoses": ("首针剂次", "剂次"),
        "vaccination.boosterDoses": ("加强针剂次", "剂次"),
        "vaccination.dosesAge60Plus": ("60岁以上接种", "剂次"),
        "nucleicAcid.samplesCollected": ("核酸采样", "人份"),
        "nucleicAcid.samplesTested": ("核酸检测", "人份"),
        "nucleicAcid.positives": ("核酸阳性", "人份"),
        "nucleicAcid.avgTurnaroundHours": ("平均出报告时长", "小时"),
        "nucleicAcid.dailyCapacity": ("日检测能力", "人份"),
        "icu.bedsTotal": ("ICU 床位", "张"),
        "icu.bedsOccupied": ("ICU 在用床位", "张"),
        "icu.convertibleBeds": ("可转换 ICU 床位", "张"),
        "icu.ventilatorsTotal": ("呼吸机", "台"),
        "icu.ventilatorsInUse": ("在用呼吸机", "台"),
    ]

    public static let domainTitles: [(id: String, title: String)] = [
        ("icu", "ICU 重症床位"), ("feverClinic", "发热门诊"), ("drugs", "战略药品储备"), ("materials", "战略物资储备"),
        ("vaccination", "疫苗接种"), ("nucleicAcid", "核酸检测"), ("medicalService", "医疗服务"),
    ]

    /// Days a catalog item lasts at the average consumption of the last 7 days (the judged
    /// day and the six before it that were reported). Nil without consumption.
    public static func daysOfSupply(_ days: [DayFigures?], _ index: Int, kind: CatalogKind, code: String) -> Double? {
        guard let stock = days[index]?.stock[kind]?[code] else { return nil }
        var consumed = 0
        var reported = 0
        for offset in 0..<7 where index - offset >= 0 {
            if let total = days[index - offset]?.stock[kind]?[code] {
                consumed += total.consumed
                reported += 1
            }
        }
        guard consumed > 0 else { return nil }
        return min(999, Double(stock.stock) / (Double(consumed) / Double(reported)))
    }

    /// Days of supply of every item of `kind` on `days[index]`, scarcest first.
    public static func scarcest(_ days: [DayFigures?], _ index: Int, kind: CatalogKind) -> [(code: String, days: Double)] {
        guard let items = days[index]?.stock[kind] else { return [] }
        return items.keys.compactMap { code in daysOfSupply(days, index, kind: kind, code: code).map { (code, Metric.round($0, 1)) } }
            .sorted { ($0.days, $0.code) < ($1.days, $1.code) }
    }

    static func ratio(_ numerator: String, _ denominator: String, percent: Bool = true) -> @Sendable ([DayFigures?], Int) -> Double? {
        { days, index in
            guard let day = days[index], let n = day[numerator], let d = day[denominator], d > 0 else { return nil }
            return Double(n) / Double(d) * (percent ? 100 : 1)
        }
    }

    static let derived: [Metric] = [
        Metric("icu.occupancyRate", "ICU 床位使用率", unit: "%", decimals: 1, compute: ratio("icu.bedsOccupied", "icu.bedsTotal")),
        Metric("icu.freeBeds", "ICU 空床", unit: "张", isCount: true) { days, index in
            guard let day = days[index], let total = day["icu.bedsTotal"], let used = day["icu.bedsOccupied"] else { return nil }
            return Double(total - used)
        },
        Metric("icu.ventilatorUseRate", "呼吸机使用率", unit: "%", decimals: 1, compute: ratio("icu.ventilatorsInUse", "icu.ventilatorsTotal")),
        Metric("feverClinic.positiveRate", "发热门诊阳性率", unit: "%", decimals: 1, compute: ratio("feverClinic.positives", "feverClinic.visits")),
        Metric(
            "feverClinic.isolationOccupancyRate",
            "留观室使用率",
            unit: "%",
            decimals: 1,
            compute: ratio("feverClinic.isolationRoomsOccupied", "feverClinic.isolationRoomsTotal")
        ),
        Metric("nucleicAcid.positiveRate", "核酸阳性率", unit: "%", decimals: 2, compute: ratio("nucleicAcid.positives", "nucleicAcid.samplesTested")),
        Metric(
            "nucleicAcid.capacityUseRate",
            "检测能力使用率",
            unit: "%",
            decimals: 1,
            compute: ratio("nucleicAcid.samplesTested", "nucleicAcid.dailyCapacity")
        ),
        // Emergency load against the scope's own baseline: today over the mean of the 28 days
        // before (at least 14 of them reported), in percent.
        Metric("medicalService.emergencyLoadIndex", "急诊负荷指数", unit: "%", decimals: 0, lookBackDays: 28) { days, index in
            guard let today = days[index]?["medicalService.emergencyVisits"] else { return nil }
            let baseline = (1...28).compactMap { index - $0 >= 0 ? days[index - $0]?["medicalService.emergencyVisits"] : nil }
            guard baseline.count >= 14 else { return nil }
            let mean = Double(baseline.reduce(0, +)) / Double(baseline.count)
            return mean > 0 ? Double(today) / mean * 100 : nil
        },
        Metric("drugs.minDaysOfSupply", "最短药品可用天数", unit: "天", decimals: 1, lookBackDays: 6) { days, index in
            scarcest(days, index, kind: .drug).first?.days
        },
        Metric("materials.minDaysOfSupply", "最短物资可用天数", unit: "天", decimals: 1, lookBackDays: 6) { days, index in
            scarcest(days, index, kind: .material).first?.days
        },
    ]

    static let fields: [Metric] = ReportSchema.countFields.map { field in
        let (label, unit) = fieldLabels[field] ?? (field, "")
        return Metric(field, label, unit: unit, isCount: DayFigures.weightedAverages[field] == nil) { days, index in
            days[index]?[field].map(Double.init)
        }
    }

    static let byId: [String: Metric] = Dictionary(uniqueKeysWithValues: (fields + derived).map { ($0.id, $0) })

    /// The catalog item a `drugs.daysOfSupply.CODE` / `materials.daysOfSupply.CODE` id names
    /// (a code is up to 32 of A–Z, 0–9, `_`, `-`, as the catalog requires); nil for any other id.
    public static func catalogItem(of id: String) -> (kind: CatalogKind, code: String)? {
        let parts = id.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[1] == "daysOfSupply",
            let kind: CatalogKind = parts[0] == "drugs" ? .drug : parts[0] == "materials" ? .material : nil,
            (1...32).contains(parts[2].count),
            parts[2].unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }),
            parts[2].first != "_", parts[2].first != "-"
        else { return nil }
        return (kind, parts[2])
    }

    /// Every fixed metric id (report fields, then derived), for documentation and validation.
    public static var ids: [String] { (fields + derived).map(\.id) }

    /// The metric with this id: a fixed one, or `drugs.daysOfSupply.CODE` /
    /// `materials.daysOfSupply.CODE` for one catalog item (`label` names it when given).
    public static func named(_ id: String, label: String? = nil) -> Metric? {
        if let metric = byId[id] { return metric }
        guard let (kind, code) = catalogItem(of: id) else { return nil }
        return Metric(id, label.map { "\($0)可用天数" } ?? "\(code) 可用天数", unit: "天", decimals: 1, lookBackDays: 6) { days, index in
            daysOfSupply(days, index, kind: kind, code: code)
        }
    }
}
