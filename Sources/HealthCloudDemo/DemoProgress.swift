import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Receives the progress of a demo fill.
public protocol DemoProgress: Sendable {
    func begin(step: String, index: Int, of count: Int)
    /// Sets the current step's total units of work (e.g. days or reports).
    func setTotal(_ total: Int)
    func advance(by units: Int)
    func end(step: String, detail: String)
    func skipped(step: String, index: Int, of count: Int, detail: String)
}

public struct SilentProgress: DemoProgress {
    public init() {}
    public func begin(step: String, index: Int, of count: Int) {}
    public func setTotal(_ total: Int) {}
    public func advance(by units: Int) {}
    public func end(step: String, detail: String) {}
    public func skipped(step: String, index: Int, of count: Int, detail: String) {}
}

/// A progress bar on standard error when it is a terminal; plain lines per step otherwise
/// (so logs and CI output stay readable).
public final class TerminalProgress: DemoProgress {
    private struct State {
        var step = ""
        var prefix = ""
        var total = 0
        var done = 0
        var lastDrawnPercent = -1
        var started = ContinuousClock.now
    }

    private let state = Mutex(State())
    private let interactive: Bool

    public init(interactive: Bool = isatty(STDERR_FILENO) == 1) {
        self.interactive = interactive
    }

    public func begin(step: String, index: Int, of count: Int) {
        state.withLock {
            $0 = State(step: step, prefix: "[\(index + 1)/\(count)] \(step)", started: .now)
        }
        if !interactive { write("[\(index + 1)/\(count)] \(step) …\n") }
    }

    public func setTotal(_ total: Int) {
        state.withLock { $0.total = max(0, total) }
    }

    public func advance(by units: Int) {
        guard interactive else { return }
        let line: String? = state.withLock { state in
            state.done += units
            guard state.total > 0 else { return nil }
            let percent = min(100, state.done * 100 / state.total)
            guard percent != state.lastDrawnPercent else { return nil }
            state.lastDrawnPercent = percent
            let width = 30
            let filled = percent * width / 100
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            return "\r\(state.prefix) \(bar) \(percent)% (\(state.done)/\(state.total))"
        }
        if let line { write(line) }
    }

    public func end(step: String, detail: String) {
        let (prefix, elapsed) = state.withLock { ($0.prefix, ContinuousClock.now - $0.started) }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let clear = interactive ? "\r\u{1B}[2K" : ""
        write("\(clear)\(prefix) ✓ \(detail) (\(String(format: "%.1f", seconds)) s)\n")
    }

    public func skipped(step: String, index: Int, of count: Int, detail: String) {
        write("[\(index + 1)/\(count)] \(step) — already done: \(detail)\n")
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
