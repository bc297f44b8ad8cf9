import HealthCloudDomain
import Testing

@testable import HealthCloudDemo
@testable import HealthCloudStorage

@Suite struct DemoPlanTests {
    let reference = try! ReferenceData.bundled()

    @Test func referenceDataHasTheCityAndItsMunicipalCampuses() {
        #expect(reference.districts.count == 16)
        #expect(reference.municipalCampuses.count == 54)
        #expect(reference.districts.first { $0.code == "310115" }?.population == 5_682_000)
    }

    @Test func allotmentIsProportionalAndExact() {
        let shares = OrganisationsStep.allot(310, by: reference.districts.map { Double($0.population) })
        #expect(shares.reduce(0, +) == 310)
        let pudong = shares[reference.districts.firstIndex { $0.code == "310115" }!]
        let huangpu = shares[reference.districts.firstIndex { $0.code == "310101" }!]
        #expect(pudong > 5 * huangpu, "Pudong has 8.6 times Huangpu's population")
        #expect(OrganisationsStep.allot(7, by: [1, 1, 1]).sorted() == [2, 2, 3])
        #expect(OrganisationsStep.allot(5, by: [0, 0]) == [0, 0])
    }

    @Test func planIsDeterministicAndNamesAreUnique() {
        let a = OrganisationsStep.plan(reference: reference, districtInstitutionCount: 310, seed: 7)
        let b = OrganisationsStep.plan(reference: reference, districtInstitutionCount: 310, seed: 7)
        let c = OrganisationsStep.plan(reference: reference, districtInstitutionCount: 310, seed: 8)
        #expect(a.map(\.name) == b.map(\.name))
        #expect(a.flatMap(\.campuses).map(\.latitude) == b.flatMap(\.campuses).map(\.latitude))
        #expect(a.flatMap(\.campuses).map(\.latitude) != c.flatMap(\.campuses).map(\.latitude))
        #expect(Set(a.map(\.name)).count == a.count)
        // Every community centre carries a sentinel; every general district hospital a fever clinic.
        for institution in a where institution.level == .district {
            let kinds = institution.campuses.flatMap(\.sites).map(\.kind)
            if institution.kind == .community { #expect(kinds == [.feverSentinel]) }
            if institution.kind == .general { #expect(kinds == [.feverClinic]) }
        }
    }

    @Test func generatedPointsStayInsideShanghai() {
        let plan = OrganisationsStep.plan(reference: reference, districtInstitutionCount: 310, seed: 2022)
        for campus in plan.flatMap(\.campuses) {
            #expect((30.6...31.9).contains(campus.latitude))
            #expect((120.8...122.1).contains(campus.longitude))
        }
    }
}
