import HealthCloudDomain
import HealthCloudStorage

/// Fills the organisation hierarchy: the 16 districts, the municipal hospitals and their
/// campuses from the reference data, and about 310 generated district-level institutions
/// (district hospitals and community health service centres) spread by population, each
/// with its fever clinic or community fever sentinel.
public struct OrganisationsStep: DemoStep {
    public let name = "organisations"
    public let title = "Organisations: districts, hospitals, campuses, fever clinics and sentinels"
    /// How many district-level institutions to generate across the city.
    public var districtInstitutionCount: Int

    public init(districtInstitutionCount: Int = 310) {
        self.districtInstitutionCount = districtInstitutionCount
    }

    public func run(_ context: DemoContext, progress: any DemoProgress) async throws -> String {
        let repository = context.database.organisations
        let plan = Self.plan(reference: context.reference, districtInstitutionCount: districtInstitutionCount, seed: context.seed)
        progress.setTotal(plan.count + 1)
        try await repository.upsert(districts: context.reference.districts)
        progress.advance(by: 1)
        for institution in plan {
            _ = try await repository.insert(institution)
            progress.advance(by: 1)
        }
        let counts = try await repository.counts()
        return "\(counts.districts) districts, \(counts.institutions) institutions, "
            + "\(counts.municipalCampuses) municipal + \(counts.districtCampuses) district campuses, "
            + "\(counts.feverClinics) fever clinics, \(counts.feverSentinels) fever sentinels"
    }

    /// The institutions to create, deterministic for a given seed.
    public static func plan(reference: ReferenceData, districtInstitutionCount: Int, seed: UInt64) -> [NewInstitution] {
        var random = SeededRandom(seed: seed)
        var institutions: [NewInstitution] = []

        // Municipal hospitals: campuses grouped by hospital, in the order the file lists them.
        var order: [String] = []
        var campusesByHospital: [String: [ReferenceData.MunicipalCampus]] = [:]
        for campus in reference.municipalCampuses {
            if campusesByHospital[campus.hospital] == nil { order.append(campus.hospital) }
            campusesByHospital[campus.hospital, default: []].append(campus)
        }
        for hospital in order {
            let campuses = campusesByHospital[hospital]!
            let kind = campuses[0].kind
            institutions.append(
                NewInstitution(
                    name: hospital,
                    level: .municipal,
                    kind: kind,
                    districtCode: campuses[0].districtCode,
                    campuses: campuses.map { campus in
                        let point = Geography.point(in: campus.districtCode, using: &random)
                        return NewInstitution.NewCampus(
                            name: campus.campus,
                            districtCode: campus.districtCode,
                            latitude: point.latitude,
                            longitude: point.longitude,
                            sites: sites(kind: kind, named: "\(hospital)\(campus.campus)", at: point, using: &random)
                        )
                    }
                )
            )
        }

        // District-level institutions, allotted to districts by population (largest remainder).
        let allotment = allot(districtInstitutionCount, by: reference.districts.map { Double($0.population) })
        for (district, count) in zip(reference.districts, allotment) {
            let hospitals = max(2, Int((Double(count) * 0.33).rounded()))
            for index in 0..<count {
                let (name, kind) =
                    index < hospitals
                    ? hospitalName(district: district.name, index: index)
                    : (communityCentreName(district: district.name, index: index - hospitals), InstitutionKind.community)
                let point = Geography.point(in: district.code, using: &random)
                institutions.append(
                    NewInstitution(
                        name: name,
                        level: .district,
                        kind: kind,
                        districtCode: district.code,
                        campuses: [
                            NewInstitution.NewCampus(
                                name: "本部",
                                districtCode: district.code,
                                latitude: point.latitude,
                                longitude: point.longitude,
                                sites: sites(kind: kind, named: name, at: point, using: &random)
                            )
                        ]
                    )
                )
            }
        }
        return institutions
    }

    static func sites(
        kind: InstitutionKind,
        named name: String,
        at point: (latitude: Double, longitude: Double),
        using random: inout SeededRandom
    ) -> [NewInstitution.NewSite] {
        // The clinic stands a few dozen metres from the campus's main gate.
        let latitude = ((point.latitude + random.uniform(in: -0.0004...0.0004)) * 1e6).rounded() / 1e6
        let longitude = ((point.longitude + random.uniform(in: -0.0004...0.0004)) * 1e6).rounded() / 1e6
        if kind.runsFeverClinic {
            return [.init(kind: .feverClinic, name: "\(name)发热门诊", latitude: latitude, longitude: longitude)]
        }
        if kind == .community {
            return [.init(kind: .feverSentinel, name: "\(name)发热哨点", latitude: latitude, longitude: longitude)]
        }
        return []
    }

    /// Splits `total` into integer shares proportional to `weights` (largest remainder method).
    static func allot(_ total: Int, by weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        guard sum > 0 else { return weights.map { _ in 0 } }
        let exact = weights.map { $0 / sum * Double(total) }
        var shares = exact.map { Int($0.rounded(.down)) }
        let remainders = exact.enumerated().sorted { ($0.element - $0.element.rounded(.down)) > ($1.element - $1.element.rounded(.down)) }
        for (index, _) in remainders.prefix(total - shares.reduce(0, +)) { shares[index] += 1 }
        return shares
    }

    private static let hospitalPatterns: [(String, InstitutionKind)] = [
        ("中心医院", .general), ("人民医院", .general), ("中医医院", .tcm), ("妇幼保健院", .maternity),
        ("精神卫生中心", .specialized), ("第二人民医院", .general), ("儿童医院", .pediatric), ("公共卫生临床中心", .infectious),
        ("第三人民医院", .general), ("中西医结合医院", .tcm), ("牙病防治所", .specialized), ("第四人民医院", .general),
    ]

    static func hospitalName(district: String, index: Int) -> (String, InstitutionKind) {
        if index < hospitalPatterns.count {
            let (suffix, kind) = hospitalPatterns[index]
            return (district + suffix, kind)
        }
        return ("\(district)第\(index - hospitalPatterns.count + 5)人民医院", .general)
    }

    private static let communityNames = [
        "城中", "城东", "城西", "城南", "城北", "新华", "江川", "虹桥", "临江", "滨河", "东苑", "西苑", "南苑", "北苑",
        "古美", "华漕", "梅陇", "马桥", "江湾", "高境", "淞南", "月浦", "罗店", "安亭", "南翔", "马陆", "金桥", "张江",
        "川沙", "惠南", "周浦", "三林", "北蔡", "洋泾", "塘桥", "朱泾", "枫泾", "泗泾", "九亭", "佘山", "朱家角", "练塘",
        "南桥", "奉城", "庄行", "堡镇", "陈家镇", "新河",
    ]

    static func communityCentreName(district: String, index: Int) -> String {
        let base = communityNames[index % communityNames.count]
        let round = index / communityNames.count
        return "\(district)\(base)\(round == 0 ? "" : "第\(round + 1)")社区卫生服务中心"
    }
}
