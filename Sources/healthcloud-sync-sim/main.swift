import Foundation
import HealthCloudDomain
import HealthCloudSyncClient

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `tools/sync-sim`: N simulated devices, each a real `SyncClient` with its own SQLite file,
/// syncing against a live server at once: a first full sync, one acknowledgement pushed, and a
/// second sync. Prints completion time, latency percentiles of whole syncs, and errors.
///
/// Usage: healthcloud-sync-sim URL TOKENS_FILE DEVICES [WORK_DIR]
/// TOKENS_FILE: JSON object username → access token (leaders; devices are spread over them).

struct StaticToken: SyncAuthenticator {
    let token: String
    func accessToken() async throws -> String { token }
    func refresh() async throws -> Bool { false }
}

let arguments = CommandLine.arguments
guard arguments.count >= 4, let base = URL(string: arguments[1]), let devices = Int(arguments[3]), devices > 0 else {
    FileHandle.standardError.write(Data("usage: healthcloud-sync-sim URL TOKENS_FILE DEVICES [WORK_DIR]\n".utf8))
    exit(2)
}
let tokens = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: URL(fileURLWithPath: arguments[2]))).sorted { $0.key < $1.key }
let work = arguments.count > 4 ? arguments[4] : FileManager.default.temporaryDirectory.appendingPathComponent("sync-sim-\(UUID().uuidString)").path
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)

let configuration = URLSessionConfiguration.default
configuration.httpMaximumConnectionsPerHost = 256
configuration.timeoutIntervalForRequest = 900
configuration.timeoutIntervalForResource = 1_800
let session = URLSession(configuration: configuration)

struct Outcome: Sendable {
    var firstSync: Double = 0
    var secondSync: Double = 0
    var changes = 0
    var pushed = 0
    var rejected = 0
    var error: String?
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

let started = ContinuousClock.now
let outcomes = await withTaskGroup(of: Outcome.self, returning: [Outcome].self) { group in
    for index in 0..<devices {
        group.addTask {
            var outcome = Outcome()
            do {
                let (username, token) = tokens[index % tokens.count]
                let store = try LocalStore(path: "\(work)/device-\(index).sqlite")
                let client = SyncClient(
                    configuration: .init(
                        baseURL: base,
                        clientId: "sim-\(username.replacingOccurrences(of: ".", with: "-"))-\(index)",
                        pageLimit: 500,
                        requestTimeout: 900
                    ),
                    store: store,
                    authenticator: StaticToken(token: token),
                    transport: URLSessionTransport(session: session)
                )
                var start = ContinuousClock.now
                let first = try await client.sync()
                outcome.firstSync = seconds(since: start)
                outcome.changes = first.changes
                // One acknowledgement of a warning this device sees open (often already acknowledged by
                // another device of the same leader: then a rejection — the expected, non-blocking kind).
                let open = try await client.records("warnings").filter {
                    if case .object(let w) = $0.value, w["status"] == .string("open") { true } else { false }
                }.keys.sorted()
                if let id = open.randomElement().flatMap({ Int64($0) }) {
                    try await client.mutate("acknowledgeWarning", args: .object(["warningId": .integer(id), "note": .string("sim \(index)")]))
                }
                start = ContinuousClock.now
                let second = try await client.sync()
                outcome.secondSync = seconds(since: start)
                outcome.pushed = second.pushed
                outcome.rejected = second.rejected
            } catch {
                outcome.error = "\(error)"
            }
            return outcome
        }
    }
    var all: [Outcome] = []
    for await outcome in group { all.append(outcome) }
    return all
}
let total = seconds(since: started)

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}
let errors = outcomes.compactMap(\.error)
let firsts = outcomes.filter { $0.error == nil }.map(\.firstSync)
let seconds2 = outcomes.filter { $0.error == nil }.map(\.secondSync)
print(String(format: "devices=%d completed=%d errors=%d total=%.1fs", devices, firsts.count, errors.count, total))
print(
    String(
        format: "first sync: p50=%.0fms p99=%.0fms max=%.0fms; changes per device: %d",
        percentile(firsts, 0.5) * 1000,
        percentile(firsts, 0.99) * 1000,
        (firsts.max() ?? 0) * 1000,
        outcomes.map(\.changes).max() ?? 0
    )
)
print(
    String(
        format: "second sync (push + pull): p50=%.0fms p99=%.0fms; mutations applied=%d rejected=%d",
        percentile(seconds2, 0.5) * 1000,
        percentile(seconds2, 0.99) * 1000,
        outcomes.map(\.pushed).reduce(0, +),
        outcomes.map(\.rejected).reduce(0, +)
    )
)
for error in Set(errors).prefix(5) { print("error: \(error)") }
try? FileManager.default.removeItem(atPath: work)
exit(errors.isEmpty ? 0 : 1)
