import Foundation
import RillHarness
import Testing

@Suite struct WorkloadParserTests {
    let parser = WorkloadParser(readFile: { path in
        switch path {
        case "workloads/payload-100.bin", "/data/payload-100.bin": return [UInt8](repeating: 7, count: 100)
        default: throw CocoaError(.fileNoSuchFile)
        }
    })

    func parseOne(_ text: String, overrides: [String] = []) throws -> Workload {
        let cells = try parser.parse(text, file: "workloads/test.yaml", overrides: overrides)
        #expect(cells.count == 1)
        return cells[0].workload
    }

    func error(_ text: String, overrides: [String] = []) -> WorkloadError? {
        do {
            _ = try parser.parse(text, file: "workloads/test.yaml", overrides: overrides)
            return nil
        } catch {
            return error
        }
    }

    /// An OMB workload file (from OMB's workloads/ directory, every field) runs unchanged.
    @Test func acceptsEveryOMBFieldWithOMBMeaning() throws {
        let workload = try parseOne("""
            name: 1 topic / 100 partitions / 100b
            topics: 1
            partitionsPerTopic: 100
            messageSize: 100
            payloadFile: "payload-100.bin"
            useRandomizedPayloads: false
            randomBytesRatio: 0.5
            randomizedPayloadPoolSize: 100
            keyDistributor: "KEY_ROUND_ROBIN"
            subscriptionsPerTopic: 2
            consumerPerSubscription: 4
            producersPerTopic: 3
            producerRate: 50000
            consumerBacklogSizeGB: 0
            backlogDrainRatio: 0.8
            testDurationMinutes: 15
            warmupDurationMinutes: 5
            """)
        #expect(workload.name == "1 topic / 100 partitions / 100b")
        #expect(workload.partitionsPerTopic == 100)
        #expect(workload.payloadFile == "workloads/payload-100.bin")
        #expect(workload.keyDistributor == .keyRoundRobin)
        #expect(workload.effectiveKeyDistribution == .roundRobin(keys: 10_000))
        #expect(workload.subscriptionsPerTopic == 2 && workload.consumerPerSubscription == 4 && workload.producersPerTopic == 3)
        #expect(workload.producerRate == 50_000)
        #expect(workload.measuredSeconds == 900 && workload.warmupPhaseSeconds == 300)
        #expect(workload.consumerCount == 8 && workload.producerCount == 3)
    }

    @Test func typedFieldsAndDefaults() throws {
        let workload = try parseOne("""
            name: typed
            acks: 1
            batchSize: 1048576
            lingerMs: 0
            compression: zstd
            keyDistribution: {type: zipf, keys: 5000, exponent: 1.2}
            target: {bootstrap: "127.0.0.1:9092"}
            durationSeconds: 30
            warmupSeconds: 2
            seed: 42
            topicConfig: {retention.ms: "60000"}
            """)
        #expect(workload.acks == .leader)
        #expect(workload.idempotence == false, "acks 1 turns idempotence off when it was not asked for, as Kafka does")
        #expect(workload.batchSize == 1_048_576 && workload.lingerMs == 0 && workload.compression == .zstd)
        #expect(workload.keyDistribution == .zipf(keys: 5000, exponent: 1.2))
        #expect(workload.target == .bootstrap("127.0.0.1:9092"))
        #expect(workload.measuredSeconds == 30 && workload.warmupPhaseSeconds == 2 && workload.seed == 42)
        #expect(workload.topicConfig == ["retention.ms": "60000"])
        let defaults = try parseOne("name: plain\nproducerRate: 100")
        #expect(defaults.acks == .all && defaults.idempotence && defaults.target == .embedded && defaults.messageSize == 1024)
    }

    /// One client thread at a modest fixed rate, two otherwise (never more than the cores),
    /// unless the workload says.
    @Test func clientThreadsFollowTheRateUnlessSet() throws {
        #expect(try parseOne("producerRate: 20000").effectiveClientThreads(cores: 2) == 1)
        // 60,000 published and 120,000 consumed a second (two subscriptions): not modest.
        #expect(try parseOne("producerRate: 60000\nsubscriptionsPerTopic: 2").effectiveClientThreads(cores: 2) == 2)
        #expect(try parseOne("producerRate: 0").effectiveClientThreads(cores: 2) == 2, "a rate search goes as fast as it can")
        #expect(try parseOne("producerRate: 1000\nconsumerBacklogSizeGB: 1").effectiveClientThreads(cores: 2) == 2, "a backlog drains at full speed")
        #expect(try parseOne("producerRate: 500000").effectiveClientThreads(cores: 1) == 1)
        #expect(try parseOne("producerRate: 20000\nclientThreads: 3").effectiveClientThreads(cores: 2) == 3)
        #expect(error("producerRate: 1\nclientThreads: -1")?.field == "clientThreads")
    }

    /// Embedded brokers run one event loop at a modest fixed rate, their default otherwise,
    /// and what the workload's `brokerConfig` says in any case.
    @Test func embeddedBrokersRunOneLoopAtAModestRateUnlessSet() throws {
        #expect(try parseOne("producerRate: 20000").embeddedBrokerConfig["rill.event.loops"] == "1")
        #expect(try parseOne("producerRate: 60000\nsubscriptionsPerTopic: 2").embeddedBrokerConfig["rill.event.loops"] == nil)
        #expect(try parseOne("producerRate: 0").embeddedBrokerConfig["rill.event.loops"] == nil)
        #expect(try parseOne("producerRate: 1000\nconsumerBacklogSizeGB: 1").embeddedBrokerConfig["rill.event.loops"] == nil)
        let configured = try parseOne("producerRate: 20000\nbrokerConfig: {rill.event.loops: \"2\", num.partitions: \"3\"}").embeddedBrokerConfig
        #expect(configured == ["rill.event.loops": "2", "num.partitions": "3"])
        #expect(try parseOne("producerRate: 20000\nbrokerConfig: {num.partitions: \"3\"}").embeddedBrokerConfig == ["rill.event.loops": "1", "num.partitions": "3"])
    }

    @Test func keyDistributionForms() throws {
        #expect(try parseOne("keyDistribution: none\nproducerRate: 1").keyDistribution == KeyDistribution.none)
        #expect(try parseOne("keyDistribution: round-robin\nproducerRate: 1").keyDistribution == .roundRobin(keys: 10_000))
        #expect(try parseOne("keyDistribution: {type: uniform, keys: 7}\nproducerRate: 1").keyDistribution == .uniform(keys: 7))
        #expect(try parseOne("keyDistribution: {type: hot-set, keys: 100, trafficFraction: 0.9, keyFraction: 0.1}\nproducerRate: 1").keyDistribution
            == .hotSet(keys: 100, trafficFraction: 0.9, keyFraction: 0.1))
        #expect(error("keyDistribution: {type: hot-set, keys: 100}\nproducerRate: 1")?.field == "keyDistribution.trafficFraction")
        #expect(error("keyDistribution: {type: zipf, trafficFraction: 0.5}\nproducerRate: 1")?.field == "keyDistribution.trafficFraction")
        #expect(error("keyDistribution: gaussian\nproducerRate: 1")?.reason.contains("must be one of none, round-robin, uniform, zipf, hot-set") == true)
    }

    @Test func unknownFieldNamesFileLineAndSuggestion() {
        let failure = error("name: x\nproducerRate: 10\npartitionPerTopic: 4\n")
        #expect(failure?.source == "workloads/test.yaml")
        #expect(failure?.line == 3)
        #expect(failure?.field == "partitionPerTopic")
        #expect(failure?.description == "workloads/test.yaml:3: partitionPerTopic: unknown field (did you mean 'partitionsPerTopic'?)")
    }

    @Test func malformedValuesSayWhy() {
        #expect(error("producerRate: fast")?.description == "workloads/test.yaml:1: producerRate: must be a number, not 'fast'")
        #expect(error("producerRate: 1\ntopics: 0")?.reason == "must be between 1 and 10000, not 0")
        #expect(error("producerRate: 1\ntopics: [1, 2]")?.reason == "must be a single value, not a list or mapping")
        #expect(error("producerRate: 1\ncompression: brotli")?.reason == "must be one of none, gzip, snappy, lz4, zstd, not 'brotli'")
        #expect(error("producerRate: 1\nacks: some")?.reason == "must be all, 1 or 0, not 'some'")
        #expect(error("producerRate: 1\ntarget: somewhere")?.field == "target")
        #expect(error("producerRate: 1\ntarget: {bootstrap: nohostport}")?.field == "target.bootstrap")
        #expect(error("producerRate: 1\nidempotence: true\nacks: 0")?.field == "idempotence")
        #expect(error("producerRate: 1\nproducerConfig: {linger.ms: 5}")?.reason == "is set by the typed field lingerMs; set that instead")
        #expect(error("producerRate: 1\nproducerConfig: {no.such.property: 5}")?.reason.contains("unknown producer property 'no.such.property'") == true)
        #expect(error("producerRate: 1\nreplicationFactor: 3")?.reason.contains("embedded target runs one broker") == true)
        #expect(error("producerRate: 0\nconsumerBacklogSizeGB: 1")?.field == "consumerBacklogSizeGB")
        #expect(error("producerRate: 1\nchecks: [lost-write]")?.reason == "must be a mapping")
        #expect(error("producerRate: 1\nname: x\nname: y")?.reason.contains("duplicated key(s): 'name'") == true)
    }

    @Test func invalidYAMLAndNonMappingsAreReported() {
        let failure = error("name: [unclosed\nproducerRate: 1")
        #expect(failure?.source == "workloads/test.yaml")
        #expect(failure?.reason.hasPrefix("not valid YAML") == true)
        #expect(failure?.line != nil)
        #expect(error("- just\n- a list")?.reason.contains("must be a mapping of fields") == true)
        #expect(error("")?.reason.contains("empty") == true)
    }

    @Test func payloadFileMustExistAndMatchMessageSize() {
        let missing = error("producerRate: 1\nmessageSize: 100\npayloadFile: nothing-here.bin")
        #expect(missing?.field == "payloadFile")
        #expect(missing?.reason.hasPrefix("cannot read workloads/nothing-here.bin") == true)
        let mismatch = error("producerRate: 1\nmessageSize: 64\npayloadFile: payload-100.bin")
        #expect(mismatch?.reason == "workloads/payload-100.bin has 100 bytes but messageSize is 64; they must be equal (as in OMB)")
        #expect((try? parseOne("producerRate: 1\nmessageSize: 100\npayloadFile: /data/payload-100.bin"))?.payloadFile == "/data/payload-100.bin")
    }

    @Test func setOverridesFieldsNestedKeysAndReportsItsOwnErrors() throws {
        let base = "name: x\nproducerRate: 10\nkeyDistribution: zipf\n"
        let workload = try parseOne(base, overrides: ["producerRate=2e6", "topicConfig.retention.ms=1000", "keyDistribution.exponent=1.5",
                                                      "target=engine", "rateSearch.latencyLimitMs=5"])
        #expect(workload.producerRate == 2_000_000)
        #expect(workload.topicConfig == ["retention.ms": "1000"])
        #expect(workload.keyDistribution == .zipf(keys: 10_000, exponent: 1.5))
        #expect(workload.target == .engine)
        #expect(workload.rateSearch.latencyLimitMs == 5)
        #expect(error(base, overrides: ["producerRate=lots"])?.description == "--set producerRate=lots: producerRate: must be a number, not 'lots'")
        #expect(error(base, overrides: ["producerRate"])?.reason.contains("must be key=value") == true)
        #expect(error(base, overrides: ["nope=1"])?.description.hasPrefix("--set nope=1: nope: unknown field") == true)
        #expect(error(base, overrides: ["producerRate.deep=1"])?.reason.contains("is not a mapping") == true)
    }

    @Test func matrixExpandsIntoTheCartesianProductInOrder() throws {
        let cells = try parser.parse("""
            name: sweep
            producerRate: 1000
            matrix:
              batchSize: [16384, 1048576]
              lingerMs: [0, 5]
              compression: [none, lz4, zstd]
            """, file: "workloads/sweep.yaml")
        #expect(cells.count == 12)
        #expect(cells[0].label == "batchSize=16384 lingerMs=0 compression=none")
        #expect(cells[11].label == "batchSize=1048576 lingerMs=5 compression=zstd")
        #expect(cells[4].workload.batchSize == 16384 && cells[4].workload.lingerMs == 5 && cells[4].workload.compression == .lz4)
        #expect(Set(cells.map(\.label)).count == 12)
        let overridden = try parser.parse("name: sweep\nproducerRate: 1000\nmatrix: {acks: [all, 1]}", file: "w.yaml", overrides: ["matrix.acks=[0]"])
        #expect(overridden.map(\.workload.acks) == [Acks.none])
    }

    @Test func matrixErrorsNameTheAxis() {
        #expect(error("producerRate: 1\nmatrix: {lingerMS: [0, 5]}")?.description == "workloads/test.yaml:2: matrix.lingerMS: is not a workload field that a matrix can vary (did you mean 'lingerMs'?)")
        #expect(error("producerRate: 1\nmatrix: {lingerMs: 5}")?.reason == "must be a non-empty list of values")
        #expect(error("producerRate: 1\nmatrix: {lingerMs: [0, fast]}")?.reason == "must be an integer, not 'fast'")
        #expect(error("producerRate: 1\nmatrix: [lingerMs]")?.field == "matrix")
    }

    /// The shipped workloads parse (the files `make bench` and the docs use).
    @Test func shippedWorkloadsParse() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("workloads")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.contains("default.yaml"))
        #expect(files.count >= 8)
        for file in files {
            let path = directory.appendingPathComponent(file).path
            let text = try String(contentsOfFile: path, encoding: .utf8)
            do {
                let cells = try WorkloadParser().parse(text, file: path)
                #expect(!cells.isEmpty)
            } catch {
                Issue.record("\(file): \(error)")
            }
        }
    }

    /// `checks:` and `faults:`: typed, with file:line errors, and the random mix drawn from the seed.
    @Test func checksAndFaultsAreTypedAndValidated() throws {
        let workload = try parseOne("""
            producerRate: 100
            partitionsPerTopic: 2
            checks: {consumers: subscribe, finalReadSeconds: 5, allow: [duplicate]}
            faults:
              powerLoss: true
              schedule:
                - {at: 3, fault: kill, duration: 2}
                - {at: 8, fault: delay, milliseconds: 50, duration: 1}
                - {at: 9, fault: crash-client, target: consumer-0}
            """)
        let checks = try #require(workload.checks)
        #expect(checks.consumers == .subscribe && checks.finalReadSeconds == 5 && checks.allow == ["duplicate"])
        #expect(checks.checkerConfiguration(isIdempotent: true).consumerMode == .subscribe)
        let plan = try #require(workload.faults)
        #expect(plan.schedule.map(\.kind) == [.kill, .delay, .crashClient])
        #expect(plan.schedule.map(\.target) == ["broker-0", "clients", "consumer-0"])
        #expect(plan.schedule[1].amount == 50 && plan.schedule[2].duration == 0)
        #expect(workload.brokerConfig["rill.simulate.power.loss"] == "true", "powerLoss starts the broker in power-loss mode")
        #expect(try parseOne("producerRate: 1\nchecks: true").checks == CorrectnessChecks())

        let faults = "producerRate: 100\nchecks: {}\nfaults:\n  schedule:\n"
        #expect(error(faults + "    - {at: 3, fault: explode}")?.description
            == "workloads/test.yaml:5: faults.schedule[0].fault: must be one of kill, pause, partition, delay, slow, reset, crash-client, corrupt, not 'explode'")
        #expect(error(faults + "    - {fault: kill}")?.reason.contains("needs at:") == true)
        #expect(error(faults + "    - {at: 1, fault: kill, target: broker-1}")?.reason == "kill at 1.0 s targets broker-1, but the workload has 1 brokers")
        #expect(error(faults + "    - {at: 1, fault: kill, target: clients}")?.reason == "kill acts on broker-N, not 'clients'")
        #expect(error(faults + "    - {at: 1, fault: kill, milliseconds: 5}")?.reason == "applies to delay only")
        #expect(error("producerRate: 100\nfaults: {powerLoss: true}")?.reason.contains("needs checks:") == true)
        #expect(error("producerRate: 100\nchecks: {allow: [lost-wrote]}")?.reason == "unknown anomaly 'lost-wrote' (did you mean 'lost-write'?)")
        #expect(error("producerRate: 100\nchecks: {}\ntarget: engine")?.field == "checks")
        #expect(error("producerRate: 100\nchecks: {}\nfaults: {random: {interval: 2, duration: 3}}")?.field == "faults.random.duration")
    }

    @Test func theRandomFaultMixIsDeterministicInTheSeed() throws {
        var plan = FaultPlan()
        plan.random = FaultPlan.RandomMix()
        plan.random?.kinds = [.kill, .pause, .partition, .crashClient]
        let first = plan.events(seconds: 60, seed: 7, brokers: 1, producers: 2, consumers: 2)
        #expect(first == plan.events(seconds: 60, seed: 7, brokers: 1, producers: 2, consumers: 2))
        #expect(first != plan.events(seconds: 60, seed: 8, brokers: 1, producers: 2, consumers: 2))
        let expectedTimes: [Double] = [5, 15, 25, 35, 45, 55]
        #expect(first.map(\.at) == expectedTimes)
        #expect(Set(first.map(\.kind)).count > 1)
        #expect(first.contains { $0.kind == .crashClient })
        for event in first where event.kind == .crashClient { #expect(event.target.hasPrefix("producer-") || event.target.hasPrefix("consumer-")) }
    }
}
