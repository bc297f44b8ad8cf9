import Foundation
import HealthCloudDomain
import SwiftCSV

/// The public reference data shipped with the server (copied from the project's shared data):
/// Shanghai's 16 districts and the campuses of the municipal hospitals.
public struct ReferenceData: Sendable {
    public struct MunicipalCampus: Sendable, Hashable {
        public var hospital: String
        public var campus: String
        public var districtCode: String
        public var kind: InstitutionKind
    }

    public var districts: [District]
    public var municipalCampuses: [MunicipalCampus]

    public enum LoadError: Error, CustomStringConvertible {
        case missingResource(String)
        case badRow(file: String, row: Int, reason: String)

        public var description: String {
            switch self {
            case .missingResource(let name): "reference data file \(name) is missing from the bundle"
            case .badRow(let file, let row, let reason): "\(file) row \(row): \(reason)"
            }
        }
    }

    /// Loads the files bundled with this module.
    public static func bundled() throws -> ReferenceData {
        try load(from: resourceDirectory())
    }

    static func resourceDirectory() throws -> URL {
        guard let url = Bundle.module.url(forResource: "Resources", withExtension: nil) else {
            throw LoadError.missingResource("Resources")
        }
        return url
    }

    public static func load(from directory: URL) throws -> ReferenceData {
        let districtsFile = "shanghai-districts.csv"
        let districtsCSV = try NamedCSV(url: directory.appendingPathComponent(districtsFile), delimiter: .comma, loadColumns: false)
        let districts = try districtsCSV.rows.enumerated().map { index, row in
            guard let code = row["code"], District.isWellFormedCode(code),
                let name = row["name_zh"], let nameEn = row["name_en"],
                let population10k = row["population_10k"].flatMap(Double.init)
            else { throw LoadError.badRow(file: districtsFile, row: index + 2, reason: "expected code,name_zh,name_en,population_10k") }
            return District(code: code, name: name, nameEn: nameEn, population: Int((population10k * 10_000).rounded()))
        }
        let known = Set(districts.map(\.code))
        let hospitalsFile = "shanghai-municipal-hospitals.csv"
        let hospitalsCSV = try NamedCSV(url: directory.appendingPathComponent(hospitalsFile), delimiter: .comma, loadColumns: false)
        let campuses = try hospitalsCSV.rows.enumerated().map { index, row in
            guard let hospital = row["hospital"], !hospital.isEmpty, let campus = row["campus"], !campus.isEmpty,
                let code = row["district_code"], known.contains(code),
                let kind = row["kind"].flatMap(InstitutionKind.init(rawValue:))
            else { throw LoadError.badRow(file: hospitalsFile, row: index + 2, reason: "expected hospital,campus,district_code,kind") }
            return MunicipalCampus(hospital: hospital, campus: campus, districtCode: code, kind: kind)
        }
        return ReferenceData(districts: districts, municipalCampuses: campuses)
    }
}
