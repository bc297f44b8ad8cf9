import Foundation
import HealthCloudTestSupport
import Testing

@Test func postgresIsAvailableUnderCI() {
    let ci = ProcessInfo.processInfo.environment["CI"]?.lowercased()
    if ci == "true" || ci == "1" {
        #expect(TestEngine.postgresURL != nil, "CI=true but HEALTHCLOUD_TEST_POSTGRES_URL is unset: PostgreSQL storage tests would be skipped")
    }
}
