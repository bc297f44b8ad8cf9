import Foundation
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudTestSupport
import Synchronization
import Testing

@testable import HealthCloudStorage

/// The campus→district map storage keeps in memory follows changes of the organisations: its
/// own writes drop it at once; on PostgreSQL another instance's writes are announced
/// (`listenForChanges`) and drop it too. A stale map would refuse a new campus's first report.
@Suite struct OrganisationChangeTests {
    static func newHospital(_ name: String) -> NewInstitution {
        NewInstitution(
            name: name,
            level: .district,
            kind: .general,
            districtCode: "310115",
            campuses: [.init(name: "本部", districtCode: "310115", latitude: 31.2, longitude: 121.5, sites: [])]
        )
    }

    static func report(_ campus: Int) -> ReportSubmission {
        let day = Day("2026-06-14")!
        return ReportSubmission(
            campusId: campus,
            date: day,
            body: ReportIngestionTests.body(),
            correctionReason: nil,
            submittedBy: nil,
            submittedAt: (day + 1).unixSeconds(atShanghaiHour: 9)
        )
    }

    @Test(arguments: TestEngine.available)
    func aNewCampusIsKnownAtOnceHereAndAfterTheAnnouncementElsewhere(engine: TestEngine) async throws {
        let location = try await TestDatabase.freshLocation(engine)
        defer { Task { try? await TestDatabase.drop(location) } }
        try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { here in
            try await here.migrate()
            _ = try await ReportIngestionTests.seeded(here)
            // The map is loaded (and kept) by a first ingest.
            #expect(try await here.ingestion.ingest([Self.report(1)], today: Day("2026-06-15")!) != [.unknownCampus])
            let (_, first) = try await here.organisations.insert(Self.newHospital("测试医院甲"))
            #expect(try await here.ingestion.ingest([Self.report(first[0])], today: Day("2026-06-15")!).first?.isAccepted == true)

            guard engine == .postgresql else { return }
            // A second instance on the same database keeps its own map.
            try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { there in
                _ = try await there.reports.districts()
                let heard = Atomic<Int>(0)
                let listener = Task {
                    try await there.organisations.listenForChanges {
                        there.organisationsChanged()
                        heard.add(1, ordering: .sequentiallyConsistent)
                    }
                }
                defer { listener.cancel() }
                try await Task.sleep(for: .milliseconds(300))  // LISTEN is issued
                let (_, second) = try await here.organisations.insert(Self.newHospital("测试医院乙"))
                for _ in 0..<50 where heard.load(ordering: .sequentiallyConsistent) == 0 { try await Task.sleep(for: .milliseconds(100)) }
                #expect(heard.load(ordering: .sequentiallyConsistent) >= 1, "the other instance heard the change")
                #expect(try await there.reports.districts()[second[0]] == "310115")
                #expect(try await there.ingestion.ingest([Self.report(second[0])], today: Day("2026-06-15")!).first?.isAccepted == true)
            }
        }
    }
}
