import ArgumentParser
import Foundation
import HealthCloudApp
import HealthCloudSync

/// `tools/bench/json`: CPU time per MiB of request body, as the server decodes a sync push
/// now (Jansson once, then the tree onto the request type) and as it did before (Foundation's
/// `JSONDecoder` straight onto the type), for deep, wide and string-heavy bodies.
struct BenchJSONDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-json-decode",
        abstract: "Benchmark: CPU per MiB of request bodies.",
        shouldDisplay: false
    )
    @Option(help: "Nesting depth of the deep body's arguments.") var depth = 300
    @Option(help: "Seconds to spend on each measure at most.") var seconds = 3.0

    func run() throws {
        let deep = Self.push([
            #"{"id":1,"name":"submitPreCheck","args":"# + String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth) + "}"
        ])
        let wideMutation =
            #"{"id":ID,"name":"submitReport","args":{"campusId":12,"date":"2026-06-14","report":{"icu":{"bedsTotal":40,"bedsOccupied":31,"convertibleBeds":6},"feverClinic":{"visits":412,"positives":37,"waitMinutes":18.5},"flags":[true,false,null,1,2,3,4,5,6,7,8,9]}}}"#
        let wide = Self.push((1...4_000).map { wideMutation.replacingOccurrences(of: "ID", with: String($0)) })
        let note = String(repeating: #"发热 3 天，咳嗽；\"体温\" 38.6℃\n家属同住 "#, count: 40)
        let strings = Self.push((1...400).map { #"{"id":\#($0),"name":"acknowledgeWarning","args":{"warningId":\#($0),"note":"\#(note)"}}"# })
        print("| body | size | before: JSONDecoder | after: Jansson + tree | after / before |")
        print("|---|---|---|---|---|")
        for (name, body) in [
            ("deep (\(depth) levels, refused after)", deep), ("wide (4,000 mutations of small objects)", wide),
            ("string-heavy (400 long notes)", strings),
        ] {
            let before = measure(body) { _ = try? JSONDecoder().decode(PushRequest.self, from: Data($0)) }
            let after = measure(body) { _ = try? JSONBody.decode(PushRequest.self, from: $0) }
            print(
                "| \(name) | \(body.count) B | \(Self.format(before)) ms/MiB | \(Self.format(after)) ms/MiB | \(String(format: "%.3f", after / before)) |"
            )

        }
    }

    static func push(_ mutations: [String]) -> [UInt8] {
        Array((#"{"protocolVersion":1,"clientId":"bench-client-1","mutations":["# + mutations.joined(separator: ",") + "]}").utf8)
    }

    static func format(_ value: Double) -> String { value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value) }

    /// The best of three rounds of CPU time (this process's, not the wall clock) per MiB.
    func measure(_ body: [UInt8], _ decode: ([UInt8]) -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            var runs = 0
            let start = Self.cpuSeconds()
            repeat {
                decode(body)
                runs += 1
            } while Self.cpuSeconds() - start < seconds / 6 && runs < 10_000
            let perRun = (Self.cpuSeconds() - start) / Double(runs)
            best = min(best, perRun * 1_000 * 1_048_576 / Double(body.count))
        }
        return best
    }

    static func cpuSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
