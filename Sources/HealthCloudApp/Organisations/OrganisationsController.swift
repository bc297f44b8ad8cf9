import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// Public reference data: districts, institutions and campuses with their sites.
/// Generic over the repository so tests can drive it with any implementation.
struct OrganisationsController<Repository: OrganisationReading> {
    let repository: Repository

    func addRoutes(to api: Routes) {
        api.get("districts", .open, use: districts)
        api.get("institutions", .open, use: institutions)
        api.get("campuses/{id}", .open, use: campus)
    }

    struct DistrictList: Encodable {
        var districts: [DistrictSummary]
    }

    struct InstitutionList: Encodable {
        var institutions: [Institution]
    }

    @Sendable func districts(_ request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.encode(DistrictList(districts: try await repository.districtSummaries()))
    }

    @Sendable func institutions(_ request: Request, context: AppRequestContext) async throws -> Response {
        let district = request.uri.queryParameters["district"].map(String.init)
        if let district {
            guard District.isWellFormedCode(district) else {
                throw APIError.invalidParameter("district", "district must be a 6-digit administrative code such as 310115.")
            }
            guard try await repository.district(code: district) != nil else {
                throw APIError.notFound("district_not_found", "There is no district \(district).")
            }
        }
        return try JSONResponse.encode(InstitutionList(institutions: try await repository.institutions(districtCode: district)))
    }

    @Sendable func campus(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        guard let campus = try await repository.campus(id: id) else {
            throw APIError.notFound("campus_not_found", "There is no campus \(id).")
        }
        return try JSONResponse.encode(campus)
    }
}
