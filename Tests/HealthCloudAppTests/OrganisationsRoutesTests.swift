import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudTestSupport
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct OrganisationsRoutesTests {
    @Test(arguments: TestEngine.available)
    func referenceDataRoutesServeTheDemoCity(engine: TestEngine) async throws {
        try await withTestApp(engine, demo: true, mode: .live) { client in
            try await client.execute(uri: "/api/v1/districts", method: .get) { response throws in
                #expect(response.status == .ok)
                let districts = try #require(try response.json()["districts"] as? [[String: Any]])
                #expect(districts.count == 16)
                let pudong = try #require(districts.first { $0["code"] as? String == "310115" })
                #expect(pudong["name"] as? String == "浦东新区")
                #expect(pudong["nameEn"] as? String == "Pudong")
                #expect((pudong["institutionCount"] as? Int ?? 0) > 40)
                #expect((pudong["campusCount"] as? Int ?? 0) >= (pudong["institutionCount"] as? Int ?? 0))
            }
            var campusId = 0
            try await client.execute(uri: "/api/v1/institutions?district=310115", method: .get) { response throws in
                #expect(response.status == .ok)
                let institutions = try #require(try response.json()["institutions"] as? [[String: Any]])
                #expect(institutions.allSatisfy { $0["districtCode"] as? String == "310115" })
                #expect(institutions.contains { $0["level"] as? String == "municipal" })
                #expect(institutions.contains { $0["kind"] as? String == "community" })
                let general = try #require(institutions.first { $0["kind"] as? String == "general" })
                campusId = try #require((general["campusIds"] as? [Int])?.first)
            }
            try await client.execute(uri: "/api/v1/campuses/\(campusId)", method: .get) { response throws in
                #expect(response.status == .ok)
                let campus = try response.json()
                #expect(campus["id"] as? Int == campusId)
                let sites = try #require(campus["sites"] as? [[String: Any]])
                #expect(sites.map { $0["kind"] as? String } == ["fever_clinic"])
                #expect((campus["latitude"] as? Double).map { (30.6...31.9).contains($0) } == true)
            }
            try await client.execute(uri: "/api/v1/institutions", method: .get) { response throws in
                let institutions = try #require(try response.json()["institutions"] as? [[String: Any]])
                #expect(institutions.count > 340)
            }
        }
    }

    @Test func badParametersNameTheField() async throws {
        try await withTestApp(.sqlite, demo: true) { client in
            for uri in ["/api/v1/institutions?district=31011", "/api/v1/institutions?district=abcdef"] {
                try await client.execute(uri: uri, method: .get) { response throws in
                    #expect(response.status == .badRequest)
                    let error = try response.apiError()
                    #expect(error.code == "invalid_parameter")
                    #expect(error.field == "district")
                }
            }
            try await client.execute(uri: "/api/v1/institutions?district=310199", method: .get) { response throws in
                #expect(response.status == .notFound)
                #expect(try response.apiError().code == "district_not_found")
            }
            for uri in ["/api/v1/campuses/abc", "/api/v1/campuses/0", "/api/v1/campuses/-4", "/api/v1/campuses/99999999999999999999999"] {
                try await client.execute(uri: uri, method: .get) { response throws in
                    #expect(response.status == .badRequest)
                    #expect(try response.apiError().field == "id")
                }
            }
            try await client.execute(uri: "/api/v1/campuses/987654", method: .get) { response throws in
                #expect(response.status == .notFound)
                #expect(try response.apiError().code == "campus_not_found")
            }
        }
    }
}
