import HealthCloudDomain
import Testing

@Suite struct OrganisationTests {
    @Test(arguments: [("310115", true), ("310101", true), ("31011", false), ("3101150", false), ("31011a", false), ("", false), ("３１０１１５", false)])
    func districtCodesAreSixASCIIDigits(code: String, wellFormed: Bool) {
        #expect(District.isWellFormedCode(code) == wellFormed)
    }

    @Test func onlyGeneralInfectiousAndPediatricCampusesRunFeverClinics() {
        let running = InstitutionKind.allCases.filter(\.runsFeverClinic)
        #expect(Set(running) == [.general, .infectious, .pediatric])
    }
}
