/// The organisation hierarchy of the network: city → 16 districts → institutions →
/// campuses → sites (fever clinics and community fever sentinels).
///
/// These are plain values shared by storage, the HTTP layer and (later) the Swift client.

/// A Shanghai district, identified by its 6-digit administrative code (GB/T 2260), e.g. `310115`.
public struct District: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    public var nameEn: String
    /// Resident population, persons.
    public var population: Int

    public init(code: String, name: String, nameEn: String, population: Int) {
        self.code = code
        self.name = name
        self.nameEn = nameEn
        self.population = population
    }

    /// Whether `code` has the shape of a district code: six digits. Whether such a
    /// district exists is a question for storage.
    public static func isWellFormedCode(_ code: String) -> Bool {
        code.utf8.count == 6 && code.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

/// Which government level runs an institution: the municipal Shenkang hospitals, or a district.
public enum InstitutionLevel: String, Sendable, Hashable, Codable, CaseIterable {
    case municipal
    case district
}

public enum InstitutionKind: String, Sendable, Hashable, Codable, CaseIterable {
    case general
    case specialized
    case infectious
    case tcm
    case pediatric
    case maternity
    /// A community health service centre (社区卫生服务中心), home of a fever sentinel.
    case community

    /// Whether campuses of this kind run a fever clinic (发热门诊). Community centres run
    /// fever sentinels (发热哨点) instead; single-specialty hospitals run neither.
    public var runsFeverClinic: Bool {
        switch self {
        case .general, .infectious, .pediatric: true
        case .specialized, .tcm, .maternity, .community: false
        }
    }
}

public struct Institution: Sendable, Hashable, Codable {
    public var id: Int
    public var name: String
    public var level: InstitutionLevel
    public var kind: InstitutionKind
    public var districtCode: String
    public var campusIds: [Int]

    public init(id: Int, name: String, level: InstitutionLevel, kind: InstitutionKind, districtCode: String, campusIds: [Int]) {
        self.id = id
        self.name = name
        self.level = level
        self.kind = kind
        self.districtCode = districtCode
        self.campusIds = campusIds
    }
}

public enum SiteKind: String, Sendable, Hashable, Codable, CaseIterable {
    case feverClinic = "fever_clinic"
    case feverSentinel = "fever_sentinel"
}

/// A place where patients are seen: a fever clinic or a community fever sentinel of a campus.
public struct Site: Sendable, Hashable, Codable {
    public var id: Int
    public var kind: SiteKind
    public var name: String
    public var latitude: Double
    public var longitude: Double

    public init(id: Int, kind: SiteKind, name: String, latitude: Double, longitude: Double) {
        self.id = id
        self.kind = kind
        self.name = name
        self.latitude = latitude
        self.longitude = longitude
    }
}

/// One physical campus (院区) of an institution; the unit that reports daily.
public struct Campus: Sendable, Hashable, Codable {
    public var id: Int
    public var institutionId: Int
    public var institutionName: String
    public var name: String
    public var districtCode: String
    public var level: InstitutionLevel
    public var kind: InstitutionKind
    public var latitude: Double
    public var longitude: Double
    public var sites: [Site]

    public init(
        id: Int,
        institutionId: Int,
        institutionName: String,
        name: String,
        districtCode: String,
        level: InstitutionLevel,
        kind: InstitutionKind,
        latitude: Double,
        longitude: Double,
        sites: [Site]
    ) {
        self.id = id
        self.institutionId = institutionId
        self.institutionName = institutionName
        self.name = name
        self.districtCode = districtCode
        self.level = level
        self.kind = kind
        self.latitude = latitude
        self.longitude = longitude
        self.sites = sites
    }
}

/// A district with the counts a list screen shows beside it.
public struct DistrictSummary: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    public var nameEn: String
    public var population: Int
    public var institutionCount: Int
    public var campusCount: Int

    public init(district: District, institutionCount: Int, campusCount: Int) {
        self.code = district.code
        self.name = district.name
        self.nameEn = district.nameEn
        self.population = district.population
        self.institutionCount = institutionCount
        self.campusCount = campusCount
    }
}
