import Foundation
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudTestSupport
import Testing

@testable import HealthCloudStorage

@Suite struct OrganisationRepositoryTests {
    static let pudong = District(code: "310115", name: "浦东新区", nameEn: "Pudong", population: 5_682_000)
    static let huangpu = District(code: "310101", name: "黄浦区", nameEn: "Huangpu", population: 662_000)

    @Test(arguments: TestEngine.available)
    func insertedInstitutionsReadBackWithCampusesAndSites(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let repo = app.organisations
            try await repo.upsert(districts: [Self.pudong, Self.huangpu])
            let renji = NewInstitution(
                name: "仁济医院",
                level: .municipal,
                kind: .general,
                districtCode: "310115",
                campuses: [
                    .init(
                        name: "东院",
                        districtCode: "310115",
                        latitude: 31.21,
                        longitude: 121.52,
                        sites: [.init(kind: .feverClinic, name: "仁济东院发热门诊", latitude: 31.2101, longitude: 121.5202)]
                    ),
                    .init(name: "西院", districtCode: "310101", latitude: 31.23, longitude: 121.48, sites: []),
                ]
            )
            let (institutionId, campusIds) = try await repo.insert(renji)
            #expect(campusIds.count == 2)

            let campus = try #require(try await repo.campus(id: campusIds[0]))
            #expect(campus.institutionId == institutionId)
            #expect(campus.institutionName == "仁济医院")
            #expect(campus.name == "东院")
            #expect(campus.level == .municipal && campus.kind == .general)
            #expect(campus.sites.map(\.kind) == [.feverClinic])
            #expect(campus.sites[0].name == "仁济东院发热门诊")
            #expect(try await repo.campus(id: 999_999) == nil)

            // Filtering is by the institution's district; its campus in Huangpu still belongs to it.
            let inPudong = try await repo.institutions(districtCode: "310115")
            #expect(inPudong.map(\.campusIds) == [campusIds])
            #expect(try await repo.institutions(districtCode: "310101").isEmpty)

            let summaries = try await repo.districtSummaries()
            #expect(summaries.map(\.code) == ["310101", "310115"])
            #expect(summaries.first { $0.code == "310115" }?.institutionCount == 1)
            #expect(summaries.first { $0.code == "310101" }?.campusCount == 1)
        }
    }

    @Test(arguments: TestEngine.available)
    func anInstitutionWithABadCampusIsNotHalfInserted(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let repo = app.organisations
            try await repo.upsert(districts: [Self.pudong])
            let broken = NewInstitution(
                name: "断院",
                level: .district,
                kind: .general,
                districtCode: "310115",
                campuses: [.init(name: "本部", districtCode: "999999", latitude: 0, longitude: 0, sites: [])]
            )
            await #expect(throws: DatabaseError.self) { try await repo.insert(broken) }
            #expect(try await repo.counts().institutions == 0)
        }
    }

    @Test(arguments: TestEngine.available)
    func upsertingDistrictsTwiceUpdatesInPlace(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            var renamed = Self.pudong
            renamed.population = 1
            try await app.organisations.upsert(districts: [Self.pudong])
            try await app.organisations.upsert(districts: [renamed])
            #expect(try await app.organisations.district(code: "310115")?.population == 1)
            #expect(try await app.organisations.counts().districts == 1)
        }
    }
}

@Suite struct DemoPipelineTests {
    static func scratchDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hc-demo-\(UUID().uuidString.prefix(8))").path
    }

    @Test(arguments: TestEngine.available)
    func demoFillsTheCityOnceAndOnlyOnce(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let context = DemoContext(
                database: app,
                reference: try ReferenceData.bundled(),
                dataDirectory: Self.scratchDirectory(),
                today: TestClock.start,
                passwordIterations: 1_000
            )
            let pipeline = DemoPipeline(steps: [OrganisationsStep(), AccountsStep(), CatalogStep()])
            let first = try await pipeline.run(context)
            #expect(first.allSatisfy { $0.ranNow })
            let counts = try await app.organisations.counts()
            #expect(counts.districts == 16)
            #expect(counts.municipalCampuses == 54)
            #expect(counts.districtCampuses == 310)
            #expect(counts.institutions == 310 + Set(context.reference.municipalCampuses.map(\.hospital)).count)
            #expect(counts.feverClinics > 60)
            #expect(counts.feverSentinels > 150)

            let second = try await pipeline.run(context)
            #expect(second.allSatisfy { !$0.ranNow })
            #expect(try await app.organisations.counts() == counts)
        }
    }

    /// The same seed gives the same city on both engines, so a PostgreSQL deployment serves
    /// exactly what the embedded default serves.
    @Test(.enabled(if: TestEngine.postgresURL != nil))
    func bothEnginesHoldTheSameDemoCity() async throws {
        @Sendable func snapshot(_ engine: TestEngine) async throws -> ([Institution], [DistrictSummary], Campus?) {
            try await TestDatabase.with(engine) { app in
                _ = try await DemoPipeline(steps: [OrganisationsStep()]).run(
                    DemoContext(
                        database: app,
                        reference: try ReferenceData.bundled(),
                        dataDirectory: DemoPipelineTests.scratchDirectory(),
                        today: TestClock.start
                    )
                )
                return (
                    try await app.organisations.institutions(districtCode: nil),
                    try await app.organisations.districtSummaries(),
                    try await app.organisations.campus(id: 200)
                )
            }
        }
        let sqlite = try await snapshot(.sqlite)
        let postgres = try await snapshot(.postgresql)
        #expect(sqlite.0 == postgres.0)
        #expect(sqlite.1 == postgres.1)
        #expect(sqlite.2 != nil && sqlite.2 == postgres.2)
    }
}
