import Foundation

/// External oracles for interop tests: the openssl CLI and gmssl (pure Python), run as real processes.
enum Oracle {
    static let openssl = "/usr/bin/openssl"
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The repository root, found from this file (Tests/HealthCloudCryptoTests/<file>).
    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var opensslAvailable: Bool { FileManager.default.isExecutableFile(atPath: openssl) }

    /// The first of `$HC_PYTHON` and `<repo>/.venv/bin/python` that can import gmssl. Both are
    /// tried because tools/lib/common.sh also reads HC_PYTHON, as the interpreter that *creates*
    /// the venv (which usually lacks gmssl).
    static let python: String? = {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["HC_PYTHON"], !env.isEmpty { candidates.append(env) }
        candidates.append(repoRoot.appendingPathComponent(".venv/bin/python").path)
        return candidates.first { path in
            FileManager.default.isExecutableFile(atPath: path)
                && (try? run(path, ["-c", "import gmssl.sm2"]))?.status == 0
        }
    }()

    /// Why gmssl interop cannot run, for the skip comment and the CI failure.
    static let missingGmssl =
        "gmssl not importable from $HC_PYTHON or \(repoRoot.path)/.venv/bin/python (run tools/test once to create the venv from tools/requirements-check.txt)"

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs a process to completion with no stdin; output goes through files so a full pipe cannot deadlock.
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> Result {
        let scratch = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        )
    }

    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hc-crypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs `body` in a fresh temporary directory that is removed afterwards.
    static func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
        let url = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }
}
