import Foundation
import NIOConcurrencyHelpers
import RillChecker
import RillClient
import RillFormat
import RillProtocol

/// Runs the exactly-once workload (docs/workloads.md § Exactly-once): idempotent producers write
/// unique values to one topic while consumer processes (`rill exactly-once-consumer`) apply them
/// to a SQLite store together with their next offsets, and a seeded nemesis SIGKILLs and
/// restarts consumers. Every send, every consumer report and every kill goes into
/// `history.jsonl`. At the end the runner waits (bounded) until the stored offsets reach the log
/// end, stops the consumers, reads `store.sqlite` and checks history and store together
/// (`HistoryChecker.check(path:storeAudit:)`): verdict.json and report.md in the results
/// directory.
public struct ExactlyOnceRunner: Sendable {
    public struct Options: Sendable {
        public var outputDirectory: URL
        /// The `rill` executable (brokers and consumer processes).
        public var rillExecutable: URL
        public var log: @Sendable (String) -> Void

        public init(outputDirectory: URL, rillExecutable: URL, log: @escaping @Sendable (String) -> Void) {
            self.outputDirectory = outputDirectory
            self.rillExecutable = rillExecutable
            self.log = log
        }
    }

    /// What a run produced.
    public struct Outcome: Sendable {
        public var result: CheckResult
        public var sends: SendCounts
        public var kills: Int
        public var pauses: Int
        public var storeRows: Int
        public var notes: [String]
    }

    public struct SendCounts: Sendable, Equatable {
        public var ok = 0, failed = 0, unknown = 0
    }

    /// Bounds of the run's waits.
    public static let consumerStopTimeout: Duration = .seconds(10)
    public static let killDrainTimeout: Duration = .seconds(5)
    /// How long a kill waits for its target to apply a batch first (a kill of an idle consumer
    /// tests nothing).
    public static let progressWaitTimeout: Duration = .seconds(15)

    public let workload: Workload
    public let settings: ExactlyOnceSettings
    public let options: Options

    public init(workload: Workload, options: Options) throws {
        guard let settings = workload.exactlyOnce else { throw HarnessError("the workload has no exactlyOnce: section") }
        guard workload.topics == 1 else { throw HarnessError("the exactly-once workload uses one topic (topics: 1)") }
        self.workload = workload
        self.settings = settings
        self.options = options
    }

    /// Runs the workload on its target and checks it.
    public func run() async throws -> Outcome {
        let directory = options.outputDirectory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch workload.target {
        case .engine: throw HarnessError("the exactly-once workload needs brokers and consumer groups: target embedded or bootstrap")
        case .bootstrap(let address): return try await run(bootstrap: address, directory: directory)
        case .embedded:
            var config = ["group.min.session.timeout.ms": String(min(settings.sessionTimeoutMs, 6_000))]
            config.merge(workload.brokerConfig) { $1 }
            return try await EmbeddedCluster.run(count: 1, executable: options.rillExecutable, brokerConfig: config, logDirectory: directory,
                                                 dataParent: workload.dataDirectory.map { URL(fileURLWithPath: $0) }) { cluster in
                try await run(bootstrap: cluster.bootstrap, directory: directory)
            }
        }
    }

    private func run(bootstrap: String, directory: URL) async throws -> Outcome {
        var idSource = SplitMix64(seed: workload.seed ^ UInt64(UInt32(truncatingIfNeeded: getpid())) ^ UInt64(Date().timeIntervalSince1970 * 1000))
        let runID = String(idSource.next() % 0xFFFFFF, radix: 16)
        let topic = "eos-\(runID)"
        let admin = KafkaAdmin(configuration: try ClientConfiguration(properties: ["bootstrap.servers": bootstrap]))
        do {
            let outcome = try await run(bootstrap: bootstrap, topic: topic, admin: admin, directory: directory)
            await admin.close()
            return outcome
        } catch {
            await admin.close()
            throw error
        }
    }

    private func run(bootstrap: String, topic: String, admin: KafkaAdmin, directory: URL) async throws -> Outcome {
        try await ClientDriver.createTopics([topic], workload: workload, admin: admin)
        let storePath = directory.appendingPathComponent(ExactlyOnceStore.fileName).path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: storePath + suffix) }
        let store = try ExactlyOnceStore(path: storePath)
        defer { store.close() }
        let recorder = try HistoryRecorder(path: directory.appendingPathComponent("history.jsonl").path)
        let fleet = ConsumerFleet(runner: self, bootstrap: bootstrap, topic: topic, group: "\(topic)-group", storePath: storePath,
                                  directory: directory, recorder: recorder)
        options.log("exactly-once: topic \(topic), \(workload.partitionsPerTopic) partitions, \(settings.consumers) consumers (\(settings.mode.rawValue)), \(settings.kills) kills, \(settings.pauses) pauses\n")
        var notes: [String] = []
        let sends: SendCounts
        let faults: ConsumerFleet.FaultCounts
        do {
            for _ in 0..<settings.consumers { try fleet.start() }
            let end = ContinuousClock.now + .seconds(workload.measuredSeconds)
            async let producing = produce(bootstrap: bootstrap, topic: topic, recorder: recorder, until: end)
            async let nemesis = fleet.runNemesis(until: end)
            sends = try await producing
            faults = try await nemesis
            notes += try await waitForCatchUp(admin: admin, topic: topic, store: store)
            notes += await fleet.stopAll()
        } catch {
            _ = await fleet.stopAll()
            try? recorder.close()
            throw error
        }
        try recorder.close()
        return try audit(directory: directory, recorder: recorder, store: store, sends: sends, faults: faults, notes: notes)
    }

    // MARK: Producers

    /// `producersPerTopic` producers, each sending one unique value at a time to a seeded random
    /// partition at its share of `producerRate`, until `end`. Each send is recorded: invoke, then
    /// ok with its offset, fail (certainly not written) or info (outcome unknown).
    func produce(bootstrap: String, topic: String, recorder: HistoryRecorder, until end: ContinuousClock.Instant) async throws -> SendCounts {
        let producers = max(1, workload.producersPerTopic)
        let rate = workload.producerRate > 0 ? workload.producerRate : 100
        let interval = Duration.seconds(Double(producers) / rate)
        // The run's own bounds on a send; the workload's producerConfig may override them.
        let configuration = try ClientSettings.producer(workload, bootstrap: bootstrap, defaults: ["delivery.timeout.ms": "15000", "request.timeout.ms": "5000"])
        return try await withThrowingTaskGroup(of: SendCounts.self) { group in
            for index in 0..<producers {
                group.addTask {
                    let producer = try await KafkaProducer.start(configuration: configuration)
                    let process = recorder.newProcess()
                    var random = SplitMix64(seed: workload.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index))
                    var counts = SendCounts()
                    var next = ContinuousClock.now
                    var sequence = 0
                    while ContinuousClock.now < end, !Task.isCancelled {
                        let partition = Int32(random.next() % UInt64(workload.partitionsPerTopic))
                        let value = "p\(index)-\(sequence)"
                        sequence += 1
                        await send(value, partition: partition, topic: topic, producer: producer, process: process, recorder: recorder, counts: &counts)
                        next += interval
                        if next > .now { try? await Task.sleep(until: next) }
                    }
                    await producer.close()
                    return counts
                }
            }
            var total = SendCounts()
            for try await counts in group {
                total.ok += counts.ok
                total.failed += counts.failed
                total.unknown += counts.unknown
            }
            return total
        }
    }

    private func send(_ value: String, partition: Int32, topic: String, producer: KafkaProducer, process: ProcessID, recorder: HistoryRecorder,
                      counts: inout SendCounts) async {
        let name = TopicPartition(topic, partition).historyName
        recorder.record(process, .invoke, .send, .send([SentRecord(partition: name, value: value)]))
        do {
            let metadata = try await producer.send(ProducerRecord(topic: topic, partition: partition, key: nil as String?, value: value))
            recorder.record(process, .ok, .send, .send([SentRecord(partition: name, value: value, offset: metadata.offset)]))
            counts.ok += 1
        } catch let error as KafkaClientError where error.outcome == .failed {
            recorder.record(process, .fail, .send, .send([SentRecord(partition: name, value: value)]), error: error.description)
            counts.failed += 1
        } catch {
            recorder.record(process, .info, .send, .send([SentRecord(partition: name, value: value)]), error: "\(error)")
            counts.unknown += 1
        }
    }

    // MARK: The end

    /// Waits until every partition's stored next offset reaches its log end offset, at most
    /// `catchUpTimeoutSeconds`; returns a note when it did not.
    func waitForCatchUp(admin: KafkaAdmin, topic: String, store: ExactlyOnceStore) async throws -> [String] {
        let partitions = (0..<Int32(workload.partitionsPerTopic)).map { TopicPartition(topic, $0) }
        let ends = try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .latest) }))
        let deadline = ContinuousClock.now + .seconds(settings.catchUpTimeoutSeconds)
        var behind: [String] = []
        repeat {
            let stored = try store.storedOffsets()
            behind = partitions.compactMap { partition in
                let name = partition.historyName
                let end = ends[partition]?.offset.rawValue ?? 0
                let at = stored[name] ?? ExactlyOnceStore.initialOffset
                return at >= end ? nil : "\(name) at \(at) of \(end)"
            }
            if behind.isEmpty { return [] }
            try await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < deadline
        return ["the consumers did not catch up within \(settings.catchUpTimeoutSeconds) s: \(behind.joined(separator: ", "))"]
    }

    /// Reads the store, checks history and store together, writes verdict.json and report.md.
    func audit(directory: URL, recorder: HistoryRecorder, store: ExactlyOnceStore, sends: SendCounts, faults: ConsumerFleet.FaultCounts, notes: [String]) throws -> Outcome {
        let audit = try store.audit()
        let configuration = CheckerConfiguration(consumerMode: .subscribe, isIdempotenceEnabled: workload.idempotence)
        let result: CheckResult
        do { result = try HistoryChecker.check(path: recorder.path, storeAudit: audit, configuration: configuration) } catch {
            throw HarnessError("the recorded history cannot be checked: \(error)")
        }
        try BenchmarkRunner.writeVerdict(result, in: directory)
        let outcome = Outcome(result: result, sends: sends, kills: faults.kills, pauses: faults.pauses, storeRows: audit.rows.count, notes: notes)
        try Data(report(outcome).utf8).write(to: directory.appendingPathComponent("report.md"))
        return outcome
    }

    func report(_ outcome: Outcome) -> String {
        var text = """
            # Exactly-once: \(workload.name)

            Consumers: \(settings.consumers) processes, mode `\(settings.mode.rawValue)`; kills: \(outcome.kills) (SIGKILL, then a restart); pauses: \(outcome.pauses) (SIGSTOP, SIGCONT after \(settings.effectivePauseMs) ms); \
            seed \(workload.seed).
            Sends: \(outcome.sends.ok) acknowledged, \(outcome.sends.failed) failed, \(outcome.sends.unknown) unknown.
            Store: \(outcome.storeRows) applied rows in `store.sqlite` (audit it: `sqlite3 store.sqlite 'SELECT * FROM offsets'`).
            Verdict: **\(outcome.result.isValid ? "valid" : "INVALID")** (verdict.json).

            """
        for note in outcome.notes { text += "\nNote: \(note)\n" }
        return text + "\n" + CheckReport.markdown(outcome.result, title: "Check of history.jsonl with the store's audit")
    }

    /// The consumer process's arguments.
    func consumerArguments(bootstrap: String, topic: String, group: String, storePath: String) -> [String] {
        ["exactly-once-consumer", "--bootstrap", bootstrap, "--topic", topic, "--group", group, "--store", storePath, "--mode", settings.mode.rawValue,
         "--max-poll-records", String(settings.maxPollRecords), "--session-timeout-ms", String(settings.sessionTimeoutMs),
         "--offset-store-interval-ms", String(settings.offsetStoreIntervalMs),
         // A bound in case the harness vanishes without closing the consumer's stdin.
         "--max-run-seconds", String(Int(workload.measuredSeconds + settings.catchUpTimeoutSeconds) + 300)]
    }
}
