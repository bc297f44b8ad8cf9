/// The daily report of one campus for one day: five sections of counts and two stock lists.
/// Field names are the contract with hospital systems; they do not change.
public enum ReportSchema {
    public struct Section: Sendable, Hashable {
        public let name: String
        public let fields: [String]
    }

    public static let countSections: [Section] = [
        Section(
            name: "medicalService",
            fields: ["outpatientVisits", "emergencyVisits", "admissions", "discharges", "inpatients", "surgeries", "internetConsultations"]
        ),
        Section(
            name: "feverClinic",
            fields: ["visits", "positives", "referralsOut", "waitingPatients", "avgWaitMinutes", "isolationRoomsTotal", "isolationRoomsOccupied"]
        ),
        Section(name: "vaccination", fields: ["doses", "firstDoses", "boosterDoses", "dosesAge60Plus"]),
        Section(name: "nucleicAcid", fields: ["samplesCollected", "samplesTested", "positives", "avgTurnaroundHours", "dailyCapacity"]),
        Section(name: "icu", fields: ["bedsTotal", "bedsOccupied", "convertibleBeds", "ventilatorsTotal", "ventilatorsInUse"]),
    ]

    /// Sections that list catalog items: `[{code, stock, consumed}]`.
    public static let stockSections: [(name: String, kind: CatalogKind)] = [("drugs", .drug), ("materials", .material)]

    public static let stockItemFields = ["code", "stock", "consumed"]

    public static var sectionNames: [String] { countSections.map(\.name) + stockSections.map(\.name) }

    /// Every count field as `section.field`, in contract order.
    public static let countFields: [String] = countSections.flatMap { section in section.fields.map { "\(section.name).\($0)" } }

    public static func section(named name: String) -> Section? {
        countSections.first { $0.name == name }
    }
}

public enum CatalogKind: String, Sendable, Hashable, Codable, CaseIterable {
    case drug
    case material
}

/// A strategic drug or material reported by stock and consumption.
public struct CatalogItem: Sendable, Hashable, Codable {
    public var code: String
    public var kind: CatalogKind
    public var name: String
    public var unit: String

    public init(code: String, kind: CatalogKind, name: String, unit: String) {
        self.code = code
        self.kind = kind
        self.name = name
        self.unit = unit
    }
}

public struct StockLine: Sendable, Hashable, Codable {
    public var code: String
    public var stock: Int
    public var consumed: Int

    public init(code: String, stock: Int, consumed: Int) {
        self.code = code
        self.stock = stock
        self.consumed = consumed
    }
}

/// A report after parsing: the values that were well formed. A report whose parse produced
/// errors is rejected whole; this holds what could be read, for the other rules to judge.
public struct DailyReport: Sendable, Hashable {
    /// `section.field` → value, for the count sections present.
    public var counts: [String: Int]
    public var presentSections: Set<String>
    public var drugs: [StockLine]?
    public var materials: [StockLine]?

    public init(counts: [String: Int] = [:], presentSections: Set<String> = [], drugs: [StockLine]? = nil, materials: [StockLine]? = nil) {
        self.counts = counts
        self.presentSections = presentSections
        self.drugs = drugs
        self.materials = materials
    }

    public func stock(_ kind: CatalogKind) -> [StockLine]? {
        kind == .drug ? drugs : materials
    }

    /// The report as the JSON object hospitals send (sections in contract order).
    public var jsonObject: [String: Any] {
        var object: [String: Any] = [:]
        for section in ReportSchema.countSections where presentSections.contains(section.name) {
            var fields: [String: Any] = [:]
            for field in section.fields {
                if let value = counts["\(section.name).\(field)"] { fields[field] = value }
            }
            object[section.name] = fields
        }
        if let drugs { object["drugs"] = drugs.map { ["code": $0.code, "stock": $0.stock, "consumed": $0.consumed] } }
        if let materials { object["materials"] = materials.map { ["code": $0.code, "stock": $0.stock, "consumed": $0.consumed] } }
        return object
    }
}
