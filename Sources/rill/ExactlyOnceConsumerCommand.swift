import ArgumentParser
import Foundation
import RillHarness
import Synchronization

/// `rill exactly-once-consumer` (hidden): one consumer process of the exactly-once workload,
/// started, killed and restarted by the harness (`ExactlyOnceRunner`). It reports history events
/// on standard output, one JSON line each, and stops when its standard input closes.
struct ExactlyOnceConsumerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exactly-once-consumer",
        abstract: "One consumer process of the exactly-once workload (started by `rill run`).",
        shouldDisplay: false)

    @Option(help: "Bootstrap servers, HOST:PORT[,HOST:PORT…].") var bootstrap: String
    @Option(help: "The topic to subscribe to.") var topic: String
    @Option(help: "The consumer group.") var group: String
    @Option(help: "The SQLite store file.") var store: String
    @Option(help: "transactional (exactly once) or split-transactions (built to fail).") var mode = "transactional"
    @Option(name: .customLong("max-poll-records"), help: "Records per transaction at most.") var maximumPollRecords = 100
    @Option(name: .customLong("session-timeout-ms"), help: "session.timeout.ms.") var sessionTimeoutMilliseconds = 3_000
    @Option(name: .customLong("offset-store-interval-ms"), help: "split-transactions: how often offsets are stored.") var offsetStoreIntervalMilliseconds = 1_000
    @Option(name: .customLong("max-run-seconds"), help: "Stop after this long in any case.") var maximumRunSeconds = 600

    func run() async throws {
        guard let chosenMode = ExactlyOnceConsumer.Mode(rawValue: mode) else {
            throw ValidationError("--mode must be one of \(ExactlyOnceConsumer.Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var options = ExactlyOnceConsumer.Options(bootstrap: bootstrap, topic: topic, groupID: group, storePath: store)
        options.mode = chosenMode
        options.maximumPollRecords = maximumPollRecords
        options.sessionTimeoutMilliseconds = sessionTimeoutMilliseconds
        options.offsetStoreIntervalMilliseconds = offsetStoreIntervalMilliseconds
        options.maximumRunSeconds = maximumRunSeconds
        let stopped = StopFlag()
        // The harness holds our standard input open; its end (the harness closed it, or died)
        // means stop.
        onStandardInputEnd(threadName: "rill-exactly-once-stdin") { stopped.set() }
        let consumer = ExactlyOnceConsumer(options: options) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        do {
            try await consumer.run(shouldStop: { stopped.isSet })
        } catch {
            FileHandle.standardError.write(Data("exactly-once consumer: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Set once, read from any thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
