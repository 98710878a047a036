import Foundation
import RillChecker
import Synchronization

/// Records a history (../shared/HISTORY-FORMAT.md, docs/history-format.md) while a correctness
/// workload runs: every client operation as an `invoke` and later one completion, and every fault
/// as a `nemesis` event of process -1.
///
/// The recorder gives each event its `index` (file order) and `time` (nanoseconds since the
/// recorder was created, monotonic) under one lock, so the file order is the order in which
/// events were recorded. Callers record an `invoke` before they start an operation and its
/// completion after they learn its outcome; an outcome they cannot know (a timeout, a lost
/// connection, a crash) is `info`, never a guess.
///
/// Lines are buffered and written in blocks; `close()` writes the rest. A history is evidence
/// about the system under test, not part of it, so the recorder never fsyncs.
public final class HistoryRecorder: Sendable {
    /// The process id of nemesis events.
    public static let nemesisProcess = ProcessID(-1)

    private struct State {
        var nextIndex: Int64 = 0
        var nextProcess: Int64 = 0
        var buffer: [UInt8] = []
        var handle: FileHandle?
        var writeError: String?
    }

    private static let blockBytes = 1 << 16

    public let path: String
    private let start = ContinuousClock.now
    private let state: Mutex<State>

    /// Creates (or truncates) the history file at `path`.
    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw HistoryRecorderError("cannot create the history file \(path)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        self.path = path
        var initial = State()
        initial.handle = handle
        initial.buffer.reserveCapacity(Self.blockBytes * 2)
        self.state = Mutex(initial)
    }

    /// A process id never used before: one per logical client, and a new one for a client that
    /// replaces a crashed one.
    public func newProcess() -> ProcessID {
        state.withLock { state in
            defer { state.nextProcess += 1 }
            return ProcessID(state.nextProcess)
        }
    }

    /// Nanoseconds since the recorder started.
    public func now() -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }

    /// Records one client event; returns its index.
    @discardableResult
    public func record(
        _ process: ProcessID, _ type: EventType, _ function: OperationFunction, _ value: OperationValue, error: String? = nil,
        rebalance: [RebalanceChange] = [], isExternalStore: Bool = false
    ) -> Int64 {
        // The body is encoded before the lock is taken; only index and time are added under it.
        let body = HistoryEvent(
            index: 0, time: 0, process: process, type: type, function: function, value: value, error: error,
            rebalance: rebalance, isExternalStore: isExternalStore
        ).jsonLineBody()
        return append(body: body)
    }

    /// Records a fault: `invoke` when it starts, `info` when it has been applied or healed.
    /// The value is `{"fault": …, "target": …}` plus `detail` when given.
    @discardableResult
    public func recordNemesis(_ type: EventType, fault: String, target: String, detail: String? = nil) -> Int64 {
        var value = "{\"fault\": \(JSONText.string(fault)), \"target\": \(JSONText.string(target))"
        if let detail { value += ", \"detail\": \(JSONText.string(detail))" }
        value += "}"
        return append(body: "\"process\": \(Self.nemesisProcess.rawValue), \"type\": \"\(type.rawValue)\", \"f\": \"nemesis\", \"value\": \(value)}")
    }

    /// Writes what is buffered and closes the file. Later records are dropped.
    public func close() throws {
        try state.withLock { state in
            try Self.write(&state)
            try state.handle?.close()
            state.handle = nil
        }
    }

    /// Gives the event its index and time and buffers its line; `body` is the line after them
    /// (`HistoryEvent.jsonLineBody()`), encoded by the caller outside the lock.
    private func append(body: String) -> Int64 {
        state.withLock { state in
            let index = state.nextIndex
            state.nextIndex += 1
            state.buffer.append(contentsOf: HistoryEvent.jsonLine(index: index, time: now(), body: body).utf8)
            state.buffer.append(UInt8(ascii: "\n"))
            if state.buffer.count >= Self.blockBytes { try? Self.write(&state) }
            return index
        }
    }

    private static func write(_ state: inout State) throws {
        if let writeError = state.writeError { throw HistoryRecorderError(writeError) }
        guard let handle = state.handle, !state.buffer.isEmpty else { return }
        do {
            try handle.write(contentsOf: state.buffer)
            state.buffer.removeAll(keepingCapacity: true)
        } catch {
            state.writeError = "writing the history failed: \(error)"
            throw HistoryRecorderError(state.writeError!)
        }
    }
}

public struct HistoryRecorderError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
