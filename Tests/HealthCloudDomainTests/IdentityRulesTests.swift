import HealthCloudDomain
import Testing

@Suite struct IdentityRulesTests {
    @Test(arguments: [
        ("city", Scope.city), ("district:310115", .district("310115")), ("institution:12", .institution(12)),
        ("campus:3", .campus(3)), ("site:45", .site(45)), ("patient:7", .patient(7)),
    ])
    func scopesParseAndPrint(text: String, scope: Scope) {
        #expect(Scope(text) == scope)
        #expect(scope.description == text)
    }

    @Test(arguments: [
        "", "town", "district:3101", "district:abcdef", "campus:", "campus:0", "campus:-1", "campus:01", "campus:1x", "site:1:2", "City",
    ])
    func malformedScopesAreRefused(text: String) {
        #expect(Scope(text) == nil)
    }

    @Test func scopesCoverWhatLiesBelowThem() {
        let ruijinFever = ScopePath(districtCode: "310101", institutionId: 1, campusId: 1, siteId: 9)
        #expect(Scope.city.covers(ruijinFever))
        #expect(Scope.district("310101").covers(ruijinFever))
        #expect(!Scope.district("310115").covers(ruijinFever))
        #expect(Scope.institution(1).covers(ruijinFever))
        #expect(!Scope.institution(2).covers(ruijinFever))
        #expect(Scope.campus(1).covers(ruijinFever))
        #expect(Scope.site(9).covers(ruijinFever))
        #expect(!Scope.site(8).covers(ruijinFever))
        // Nothing below the city covers the city; no organisational scope covers a patient's own data.
        #expect(!Scope.district("310101").covers(.city))
        #expect(!Scope.city.covers(ScopePath(patientId: 5)))
        #expect(Scope.patient(5).covers(ScopePath(patientId: 5)))
        #expect(!Scope.patient(5).covers(ScopePath(patientId: 6)))
        #expect(!Scope.patient(5).covers(ruijinFever))
    }

    @Test(arguments: [
        ("13800138000", true), ("19912345678", true), ("12800138000", false), ("1380013800", false), ("138001380001", false), ("1380013800a", false),
        ("23800138000", false),
    ])
    func phones(phone: String, valid: Bool) {
        #expect(PersonalData.isValidPhone(phone) == valid)
    }

    @Test func idNumbersCarryTheirCheckCharacter() {
        // GB 11643 worked example: 11010519491231002X.
        #expect(PersonalData.isValidIDNumber("11010519491231002X"))
        #expect(PersonalData.isValidIDNumber("11010519491231002x"))
        #expect(!PersonalData.isValidIDNumber("110105194912310021"))
        #expect(!PersonalData.isValidIDNumber("11010519491231002"))
        #expect(!PersonalData.isValidIDNumber("1101051949123100XX"))
        #expect(PersonalData.isValidIDNumber("440524188001010014"))
    }

    @Test func maskingKeepsOnlyWhatIsNeededToRecogniseIt() {
        #expect(PersonalData.maskPhone("13812345678") == "138****5678")
        #expect(PersonalData.maskIDNumber("310115198504121234") == "310***********1234")
        #expect(PersonalData.maskName("张伟") == "张*")
        #expect(PersonalData.maskName("欧阳娜娜") == "欧***")
        #expect(PersonalData.maskPhone("123") == "***")
    }

    @Test(arguments: [
        ("Short1!", false), ("alllowercaseletters", false), ("lowerandUPPER", false), ("lowerUPPER123", true),
        ("lower-123-symbols", true), ("ABCDEFGH12", false), ("ABCDEFGH1!", true), ("密码密码密码密码密码1A", false), ("密码密码密码密码密码1A!", true),
    ])
    func passwordPolicyNeedsLengthAndThreeClasses(password: String, acceptable: Bool) {
        #expect((PasswordPolicy.problem(with: password) == nil) == acceptable)
    }
}
