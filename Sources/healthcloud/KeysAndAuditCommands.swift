import ArgumentParser
import Foundation
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the key store (SM2 signing keys, SM4 field keys, HMAC keys).",
        subcommands: [Init.self, Rotate.self, Show.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a new key store (refuses to overwrite one).")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Key directory (env HEALTHCLOUD_KEYS_DIR; default <data directory>/keys).") var dir: String?

        func run() async throws {
            let directory = try dir ?? storage.configuration().resolvedKeysDirectory
            let keys = try KeyStore.initialize(at: URL(fileURLWithPath: directory))
            print(
                "Created keys in \(directory): signing key \(keys.signingKeyID), field key \(keys.fields.current.keyID). Secret files are mode 0600."
            )
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new current key; old public keys and field keys stay for verification and decryption."
        )
        @OptionGroup var storage: StorageOptions
        @Option(help: "Key directory (default <data directory>/keys).") var dir: String?
        @Flag(help: "Rotate the SM2 signing key.") var signing = false
        @Flag(help: "Rotate the SM4 field key.") var field = false

        func validate() throws {
            guard signing || field else { throw ValidationError("say what to rotate: --signing and/or --field") }
        }

        func run() async throws {
            let directory = try dir ?? storage.configuration().resolvedKeysDirectory
            let keys = try KeyStore.rotate(signing: signing, field: field, at: URL(fileURLWithPath: directory))
            print(
                "Current signing key \(keys.signingKeyID) (\(keys.verificationKeys.count) verifying), current field key \(keys.fields.current.keyID). Restart the servers to use them."
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public signing keys (PEM), as GET /api/v1/keys publishes them.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "Key directory (default <data directory>/keys).") var dir: String?

        func run() async throws {
            let directory = try dir ?? storage.configuration().resolvedKeysDirectory
            let keys = try KeyStore.load(from: URL(fileURLWithPath: directory))
            for (kid, key) in keys.verificationKeys.sorted(by: { $0.key < $1.key }) {
                print("# \(kid)\(kid == keys.signingKeyID ? " (current)" : "")")
                print(key.pemRepresentation)
            }
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the audit log's SM3 chain and SM2-signed checkpoints.",
        subcommands: [Verify.self, Checkpoint.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recompute the chain; report the first broken link. Exit status 1 when broken.")
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let result = try await storage.withDatabase { database, _, keys in
                try await database.audit.verify(publicKeys: keys.verificationKeys)
            }
            print("audit log \(result)")
            if !result.intact { throw ExitCode(1) }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign the current head of the log now.")
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let (seq, kid) = try await storage.withDatabase { database, _, keys in
                (try await database.audit.checkpoint(at: Date()), keys.signingKeyID)
            }
            print(seq.map { "signed checkpoint at row \($0) with \(kid)" } ?? "the log is empty")
        }
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign or verify an HCP1 token with the key store (see docs/signed-tokens.md).",
        subcommands: [Sign.self, Verify.self]
    )

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a token with the current SM2 key and print it.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "The token type (typ).") var type = "demo"
        @Option(help: "Extra claims as a JSON object.") var claims = "{}"
        @Option(help: "Lifetime in seconds.") var ttl = 300

        func run() async throws {
            let keys = try storage.keys(try storage.configuration(), createIfMissing: false)
            guard let object = try JSONSerialization.jsonObject(with: Data(claims.utf8)) as? [String: Any] else {
                throw ValidationError("--claims must be a JSON object")
            }
            let now = Date()
            let sendable = object.mapValues { SendableJSON(value: $0) }
            print(
                try SignedToken.sign(
                    claims: sendable.mapValues(\.value),
                    type: type,
                    issuedAt: now,
                    expiresAt: now.addingTimeInterval(TimeInterval(ttl)),
                    key: keys.signingKey,
                    keyID: keys.signingKeyID
                )
            )
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify a token with the key store's public keys and print its claims.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "The HCP1 token.") var token: String

        func run() async throws {
            let keys = try storage.keys(try storage.configuration(), createIfMissing: false)
            do {
                let claims = try SignedToken.verify(token, publicKeys: keys.verificationKeys, now: Date())
                let data = try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } catch let error as SignedToken.VerificationError {
                print("invalid: \(error)")
                throw ExitCode(1)
            }
        }
    }
}

/// JSONSerialization values cross into `[String: any Sendable]` (they are immutable Foundation values).
struct SendableJSON: @unchecked Sendable {
    let value: Any
}

/// `tools/bench/reporting`: one more day (today) for every campus as one batch through the
/// real ingestion and QC, on a database already filled by `healthcloud demo`.
struct BenchIngestDay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-ingest-day",
        abstract: "Benchmark: ingest one day for every campus.",
        shouldDisplay: false
    )
    @OptionGroup var storage: StorageOptions

    func run() async throws {
        let profile = IngestionProfile()
        let (count, seconds) = try await storage.withDatabase { database, configuration, _ in
            let context = DemoContext(
                database: database,
                reference: try ReferenceData.bundled(),
                dataDirectory: configuration.resolvedDataDirectory,
                today: Date()
            )
            let today = Day(shanghaiTimeOf: Int64(context.today.timeIntervalSince1970))
            return try await ReportHistoryStep().benchmarkDay(context, day: today, profile: profile)
        }
        // Where the time went, for docs/benchmarks.md (stderr: stdout is the one result line).
        defer { FileHandle.standardError.write(Data("profile: \(profile.summary(total: seconds))\n".utf8)) }
        print("\(count) reports in \(String(format: "%.2f", seconds)) s (\(Int((Double(count) / seconds).rounded())) reports/s)")
    }
}

/// `tools/replay-2022`: the reports every campus would have sent during Shanghai's 2022 wave,
/// on their real dates, as one JSON line per day (`{"date", "reports":[{campusId, date, report}]}`)
/// ready for `POST /api/v1/reports:batch`. Reads the campuses of a database made by `healthcloud demo`.
struct Replay2022Reports: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-2022-reports",
        abstract: "Print the 2022 wave's daily report batches as JSON lines.",
        shouldDisplay: false
    )
    @OptionGroup var storage: StorageOptions
    @Option(help: "First day (YYYY-MM-DD).") var from = "2022-02-01"
    @Option(help: "Last day (YYYY-MM-DD).") var to = "2022-06-30"

    func run() async throws {
        guard let first = Day(from), let last = Day(to), first <= last, last - first <= 400 else {
            throw ValidationError("--from and --to must be dates YYYY-MM-DD, from on or before to, at most 400 days apart.")
        }
        let days = try await storage.withDatabase { database, configuration, _ in
            let context = DemoContext(
                database: database,
                reference: try ReferenceData.bundled(),
                dataDirectory: configuration.resolvedDataDirectory,
                today: Date()
            )
            return try await ReportHistoryStep().replay2022(context, from: first, through: last).map { day in
                JSONValue.object([
                    "date": .string(day.day.description),
                    "reports": .array(
                        day.submissions.map { submission in
                            .object([
                                "campusId": .integer(Int64(submission.campusId)), "date": .string(submission.date.description),
                                "report": submission.body,
                            ])
                        }
                    ),
                ])
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for day in days {
            FileHandle.standardOutput.write(try encoder.encode(day) + Data("\n".utf8))
        }
    }
}

/// `tools/bench/journey`: N patients booked into the current window of one site through the
/// real booking path (pre-check, capacity, pass signing), their pass tokens one per line — the
/// check-ins a kiosk benchmark consumes. The window's capacity is raised to fit N. Only on a
/// demo database (it writes bench patients, with numbers no phone has: `100…`).
struct BenchVisitPasses: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-visit-passes",
        abstract: "Benchmark: book N patients now, print their passes.",
        shouldDisplay: false
    )
    @OptionGroup var storage: StorageOptions
    @Option(help: "The site (a kiosk's site:ID).") var site: Int
    @Option(help: "How many passes.") var count = 10_000
    @Option(help: "Concurrent bookings.") var concurrency = 8

    func run() async throws {
        let site = self.site
        let count = self.count
        let concurrency = max(1, self.concurrency)
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be 1–1000000") }
        let (tokens, seconds) = try await storage.withDatabase { database, _, _ in
            guard try await database.demo.completedStep("accounts") != nil else {
                throw ValidationError(
                    "this is not a demo database (no demo accounts step): bench-visit-passes writes bench patients and raises a slot's capacity"
                )
            }
            guard let info = try await database.sites.site(id: site) else { throw ValidationError("there is no site \(site)") }
            guard info.kind == .feverClinic else {
                throw ValidationError("site \(site) is a \(info.kind.rawValue); the bench books fever-clinic triages at a fever clinic")
            }
            let now = Int64(Date().timeIntervalSince1970)
            guard
                let slot = try await database.sites.slots(of: info, on: Day(shanghaiTimeOf: now)).first(where: {
                    $0.startsAt <= now && now < $0.endsAt
                })
            else {
                throw ValidationError("site \(site) has no window open now")
            }
            try await database.demo.raiseCapacity(ofSlot: slot.id, by: count)
            let answers: [String: JSONValue] = ["temperature": .number(38.8), "feverDays": .integer(1)]
            let started = Date()
            let tokens = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var tokens: [String] = []
                        for n in stride(from: worker, to: count, by: concurrency) {
                            let (patient, _) = try await database.identity.findOrCreatePatient(phone: "100" + String(format: "%08d", n), now: now)
                            let precheck = try await database.prechecks.insert(
                                .init(
                                    patientId: patient,
                                    questionnaireVersion: 1,
                                    ruleTableVersion: 1,
                                    answers: answers,
                                    outcome: TriageRuleTable.standard.triage(answers),
                                    latitude: nil,
                                    longitude: nil
                                ),
                                now: now
                            )
                            guard
                                case .booked(let appointment) = try await database.appointments.book(
                                    patientId: patient,
                                    slotId: slot.id,
                                    precheckId: precheck.id,
                                    now: now
                                ),
                                let token = appointment.passToken
                            else { continue }
                            tokens.append(token)
                        }
                        return tokens
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            return (tokens, Date().timeIntervalSince(started))
        }
        FileHandle.standardError.write(
            Data("\(tokens.count) passes booked in \(String(format: "%.1f", seconds)) s (\(Int(Double(tokens.count) / seconds)) bookings/s)\n".utf8)
        )
        print(tokens.joined(separator: "\n"))
    }
}
