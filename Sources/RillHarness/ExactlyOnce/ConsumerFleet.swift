import Foundation
import NIOConcurrencyHelpers
import RillChecker
import RillFormat

/// The exactly-once workload's consumer processes: starts them, records their reports in the
/// history under their process ids, and is the nemesis that SIGKILLs and restarts them.
///
/// A consumer's reports are recorded by its output thread in the order it wrote them; its end
/// (`onEnd`, after the last line) records the `crash` of a killed consumer, so the crash always
/// follows everything the consumer reported. A restarted consumer gets a new process id.
final class ConsumerFleet: Sendable {
    private struct State {
        var consumers: [ConsumerProcess] = []
        var isStopping = false
        var notes: [String] = []
        var unexpectedRestarts = 0
    }

    /// Consumers that exit on their own (not killed, not asked to stop) are replaced at most
    /// this many times in a run.
    static let maximumUnexpectedRestarts = 20

    let runner: ExactlyOnceRunner
    let arguments: [String]
    let directory: URL
    let recorder: HistoryRecorder
    private let state = NIOLockedValueBox(State())

    init(runner: ExactlyOnceRunner, bootstrap: String, topic: String, group: String, storePath: String, directory: URL, recorder: HistoryRecorder) {
        self.runner = runner
        self.arguments = runner.consumerArguments(bootstrap: bootstrap, topic: topic, group: group, storePath: storePath)
        self.directory = directory
        self.recorder = recorder
    }

    /// Starts one more consumer process with a new history process id.
    @discardableResult
    func start() throws -> ConsumerProcess {
        let process = recorder.newProcess()
        let recorder = self.recorder
        let state = self.state
        let consumer = try ConsumerProcess(
            executable: runner.options.rillExecutable, arguments: arguments, historyProcess: process,
            log: directory.appendingPathComponent("consumer-\(process.rawValue).log"),
            onLine: { consumer, line in Self.record(line, from: consumer, recorder: recorder, state: state) },
            onEnd: { [weak self] consumer in self?.ended(consumer) })
        state.withLockedValue { $0.consumers.append(consumer) }
        return consumer
    }

    private static func record(_ line: String, from consumer: ConsumerProcess, recorder: HistoryRecorder, state: NIOLockedValueBox<State>) {
        let process = consumer.historyProcess
        guard let event = try? HistoryEvent(jsonLine: line) else {
            state.withLockedValue { $0.notes.append("process \(process.rawValue) wrote a line that is not a history event: \(line.prefix(200))") }
            return
        }
        if event.type == .ok, event.function == .process { consumer.noteAppliedBatch() }
        recorder.record(process, event.type, event.function, event.value, error: event.error, rebalance: event.rebalance, isExternalStore: event.isExternalStore)
    }

    /// A consumer's output ended (after its last report): a killed one crashed; one that exited
    /// on its own while the run goes on crashed too, and is replaced (bounded).
    private func ended(_ consumer: ConsumerProcess) {
        let (isStopping, mayRestart) = state.withLockedValue { state in
            (state.isStopping, state.unexpectedRestarts < Self.maximumUnexpectedRestarts)
        }
        if consumer.isKilled {
            recorder.record(consumer.historyProcess, .info, .crash, .none, error: "SIGKILL")
            return
        }
        guard !isStopping else { return }
        let name = "consumer process \(consumer.historyProcess.rawValue)"
        recorder.record(consumer.historyProcess, .info, .crash, .none, error: "the consumer process exited on its own")
        var note = "\(name) exited on its own (see consumer-\(consumer.historyProcess.rawValue).log)"
        if mayRestart, let replacement = try? start() {
            note += "; restarted as process \(replacement.historyProcess.rawValue)"
            state.withLockedValue { $0.unexpectedRestarts += 1 }
        }
        state.withLockedValue { $0.notes.append(note) }
    }

    /// What the nemesis did.
    struct FaultCounts: Sendable {
        var kills = 0
        var pauses = 0
    }

    /// The nemesis: `kills` SIGKILLs and `pauses` SIGSTOP/SIGCONT pauses in a seeded random
    /// order, each after a seeded random gap (half to one and a half times `killIntervalMs`).
    /// Each picks a live consumer, waits (bounded) until it has applied a batch, waits a further
    /// random 0–300 ms, then applies the fault. A killed consumer's reports are drained, then a
    /// replacement starts; a paused one is resumed after `pauseMs`. Stops at `end`.
    func runNemesis(until end: ContinuousClock.Instant) async throws -> FaultCounts {
        let settings = runner.settings
        var random = SplitMix64(seed: runner.workload.seed ^ 0x6B69_6C6C)
        var done = FaultCounts()
        while done.kills < settings.kills || done.pauses < settings.pauses {
            let gap = Double(settings.killIntervalMs) * (0.5 + Double(random.next() % 1_000) / 1_000)
            try await Task.sleep(until: min(.now + .milliseconds(Int(gap)), end))
            guard ContinuousClock.now < end else { break }
            let remainingKills = settings.kills - done.kills, remainingPauses = settings.pauses - done.pauses
            let isKill = Int(random.next() % UInt64(remainingKills + remainingPauses)) < remainingKills
            let live = state.withLockedValue { $0.consumers.filter { !$0.isEnded } }
            guard !live.isEmpty else { break }
            let target = live[Int(random.next() % UInt64(live.count))]
            let progressDeadline = min(.now + ExactlyOnceRunner.progressWaitTimeout, end)
            while target.appliedBatches == 0, ContinuousClock.now < progressDeadline { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(Int(random.next() % 300)))
            if isKill {
                try await kill(target)
                done.kills += 1
            } else {
                await pause(target, for: .milliseconds(settings.effectivePauseMs))
                done.pauses += 1
            }
        }
        return done
    }

    private func kill(_ target: ConsumerProcess) async throws {
        let name = "consumer process \(target.historyProcess.rawValue) (pid \(target.pid))"
        recorder.recordNemesis(.invoke, fault: "kill", target: name, detail: "SIGKILL after \(target.appliedBatches) applied batch(es)")
        target.kill()
        if !(await target.waitUntilEnded(timeout: ExactlyOnceRunner.killDrainTimeout)) {
            state.withLockedValue { $0.notes.append("\(name) did not close its output within \(ExactlyOnceRunner.killDrainTimeout) of SIGKILL") }
        }
        let replacement = try start()
        recorder.recordNemesis(.info, fault: "kill", target: name, detail: "killed; restarted as process \(replacement.historyProcess.rawValue)")
    }

    private func pause(_ target: ConsumerProcess, for duration: Duration) async {
        let name = "consumer process \(target.historyProcess.rawValue) (pid \(target.pid))"
        recorder.recordNemesis(.invoke, fault: "pause", target: name, detail: "SIGSTOP for \(duration)")
        target.pause()
        try? await Task.sleep(for: duration)
        target.resume()
        recorder.recordNemesis(.info, fault: "pause", target: name, detail: "SIGCONT: resumed")
    }

    /// Asks every consumer to stop (bounded); returns the run's notes about consumers.
    func stopAll() async -> [String] {
        let consumers = state.withLockedValue { state in
            state.isStopping = true
            return state.consumers.filter { !$0.isEnded }
        }
        for consumer in consumers where !(await consumer.stop(timeout: ExactlyOnceRunner.consumerStopTimeout)) {
            state.withLockedValue { $0.notes.append("consumer process \(consumer.historyProcess.rawValue) did not stop within \(ExactlyOnceRunner.consumerStopTimeout) and was killed") }
        }
        return state.withLockedValue { $0.notes }
    }
}
