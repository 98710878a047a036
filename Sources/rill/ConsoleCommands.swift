import ArgumentParser
import Foundation
import NIOCore
import RillClient
import RillFormat
import RillProtocol

/// `--bootstrap HOST:PORT[,…]`, shared by the client commands.
struct BootstrapOptions: ParsableArguments {
    @Option(help: "Broker address(es), HOST:PORT[,HOST:PORT…].") var bootstrap = "127.0.0.1:9092"

    func clientConfiguration() throws -> ClientConfiguration {
        do {
            return ClientConfiguration(bootstrapServers: try ClientConfiguration.parseServers(bootstrap))
        } catch let error as KafkaClientError {
            throw ValidationError(error.message)
        }
    }
}

/// Parses `key=value` pairs of repeated options.
func keyValuePairs(_ items: [String], option: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for item in items {
        guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
            throw ValidationError("\(option) must be key=value, not '\(item)'")
        }
        result[String(item[..<equals])] = String(item[item.index(after: equals)...])
    }
    return result
}

/// Turns client errors into one clear line and a non-zero exit.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as KafkaClientError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "Create, list, describe and delete topics (like kafka-topics).",
        subcommands: [Create.self, List.self, Describe.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")
        @OptionGroup var bootstrap: BootstrapOptions
        @Argument(help: "Topic name.") var topic: String
        @Option(help: "Partitions (default: the broker's num.partitions).") var partitions: Int32 = -1
        @Option(name: .customLong("replication-factor"), help: "Replicas (default: the broker's default.replication.factor).") var replicationFactor: Int16 = -1
        @Option(name: .customLong("config"), parsing: .singleValue, help: "A topic config, key=value (repeatable).") var configs: [String] = []

        func run() async throws {
            let admin = KafkaAdmin(configuration: try bootstrap.clientConfiguration())
            defer { Task { await admin.close() } }
            try await runReportingErrors {
                try await admin.createTopic(.init(name: topic, partitionCount: partitions, replicationFactor: replicationFactor, configs: try keyValuePairs(configs, option: "--config")))
                print("Created topic \(topic).")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics.")
        @OptionGroup var bootstrap: BootstrapOptions

        func run() async throws {
            let admin = KafkaAdmin(configuration: try bootstrap.clientConfiguration())
            defer { Task { await admin.close() } }
            try await runReportingErrors {
                for name in try await admin.listTopics() { print(name) }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe topics: partitions, leaders, replicas, configs.")
        @OptionGroup var bootstrap: BootstrapOptions
        @Argument(help: "Topics (default: all).") var topics: [String] = []

        func run() async throws {
            let admin = KafkaAdmin(configuration: try bootstrap.clientConfiguration())
            defer { Task { await admin.close() } }
            try await runReportingErrors {
                let names = topics.isEmpty ? try await admin.listTopics() : topics
                for description in try await admin.describeTopics(names) {
                    let configs = try await admin.describeTopicConfigs(description.name).values
                        .filter { $0.source == .topicConfig }.sorted { $0.name < $1.name }.map { "\($0.name)=\($0.value ?? "")" }
                    print("Topic: \(description.name)\tPartitionCount: \(description.partitions.count)\tConfigs: \(configs.joined(separator: ","))")
                    for partition in description.partitions {
                        print("\tTopic: \(description.name)\tPartition: \(partition.partition)\tLeader: \(partition.leader)\tLeaderEpoch: \(partition.leaderEpoch)\tReplicas: \(partition.leader)\tIsr: \(partition.leader)")
                    }
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete topics.")
        @OptionGroup var bootstrap: BootstrapOptions
        @Argument(help: "Topics.") var topics: [String]

        func run() async throws {
            let admin = KafkaAdmin(configuration: try bootstrap.clientConfiguration())
            defer { Task { await admin.close() } }
            try await runReportingErrors {
                var failed = false
                for (name, error) in try await admin.deleteTopics(topics).sorted(by: { $0.key < $1.key }) {
                    if let error { failed = true; FileHandle.standardError.write(Data("error: \(name): \(error)\n".utf8)) } else { print("Deleted topic \(name).") }
                }
                if failed { throw ExitCode(1) }
            }
        }
    }
}

/// `rill produce TOPIC`: lines from standard input as records (like kafka-console-producer).
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce", abstract: "Send lines from standard input to a topic (like kafka-console-producer).")
    @OptionGroup var bootstrap: BootstrapOptions
    @Argument(help: "Topic.") var topic: String
    @Option(name: .customLong("key-separator"), help: "Split each line into key and value at the first separator.") var keySeparator: String?
    @Option(help: "Send to this partition (default: the partitioner chooses).") var partition: Int32?
    @Option(name: .customLong("producer-property"), parsing: .singleValue, help: "A producer property, key=value (repeatable).") var properties: [String] = []

    func run() async throws {
        var settings = try keyValuePairs(properties, option: "--producer-property")
        settings["bootstrap.servers"] = bootstrap.bootstrap
        let configuration: ProducerConfiguration
        do { configuration = try ProducerConfiguration(properties: settings) } catch let error as KafkaClientError { throw ValidationError(error.message) }
        try await runReportingErrors {
            let producer = try await KafkaProducer.start(configuration: configuration)
            var sent = 0
            while let line = readLine(strippingNewline: true) {
                var key: String?
                var value = line
                if let keySeparator, let range = line.range(of: keySeparator) {
                    key = String(line[..<range.lowerBound])
                    value = String(line[range.upperBound...])
                }
                try await producer.enqueue(ProducerRecord(topic: topic, partition: partition, key: key, value: value), context: UInt64(sent))
                sent += 1
            }
            await producer.close()
            var failures = 0
            // Reports for everything sent are already queued once close() has flushed.
            for await report in producer.deliveryReports where report.error != nil {
                failures += 1
                if failures <= 5 { FileHandle.standardError.write(Data("error: record \(report.context): \(report.error!)\n".utf8)) }
            }
            FileHandle.standardError.write(Data("\(sent - failures) of \(sent) record(s) acknowledged\n".utf8))
            if failures > 0 { throw ExitCode(1) }
        }
    }
}

/// `rill consume TOPIC`: prints records (like kafka-console-consumer).
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume", abstract: "Print a topic's records (like kafka-console-consumer).",
        discussion: """
            Without --group the consumer reads every partition itself. With --group it joins that \
            consumer group (sharing the partitions with the group's other members), starts at the \
            group's committed offsets, and commits what it printed (auto-commit: as it goes, when \
            partitions move to another member, and when it exits).
            """)
    @OptionGroup var bootstrap: BootstrapOptions
    @Argument(help: "Topic.") var topic: String
    @Option(name: .customLong("group"), help: "Consumer group to join (group.id).") var group: String?
    @Flag(name: .customLong("from-beginning"), help: "Start at the earliest offset when there is no committed one (default: only new records).") var fromBeginning = false
    @Option(name: .customLong("max-messages"), help: "Exit after this many records.") var maxMessages: Int?
    @Option(name: .customLong("timeout-ms"), help: "Exit when no record arrives for this long.") var timeoutMilliseconds: Int?
    @Flag(name: .customLong("print-key"), help: "Print key<TAB>value.") var printKey = false
    @Flag(name: .customLong("print-offset"), help: "Print partition:offset before each record.") var printOffset = false
    @Option(name: .customLong("consumer-property"), help: "A consumer setting, key=value (Kafka's names; repeatable).") var properties: [String] = []

    func run() async throws {
        try await runReportingErrors {
            var settings = ["bootstrap.servers": bootstrap.bootstrap, "auto.offset.reset": fromBeginning ? "earliest" : "latest"]
            if let group { settings["group.id"] = group }
            settings.merge(try keyValuePairs(properties, option: "--consumer-property")) { $1 }
            let consumer = KafkaConsumer(configuration: try ConsumerConfiguration(properties: settings))
            if group != nil {
                try consumer.subscribe(topics: [topic])
            } else {
                let topicInfo = try await consumer.cluster.topicMetadata(topic)
                guard topicInfo.errorCode == .none else { throw KafkaClientError.broker(topicInfo.errorCode, "topic '\(topic)'") }
                consumer.assign(topicInfo.partitions.map { TopicPartition(topic, $0.partition) })
            }
            var printed = 0
            var lastRecord = ContinuousClock.now
            do {
                while maxMessages.map({ printed < $0 }) ?? true {
                    let records = try await consumer.poll(timeout: .milliseconds(500))
                    if records.isEmpty, let timeoutMilliseconds, ContinuousClock.now - lastRecord > .milliseconds(timeoutMilliseconds) { break }
                    for (index, record) in records.enumerated() {
                        if let maxMessages, printed >= maxMessages {
                            // Stopping mid-batch: rewind to the first record not printed, so the
                            // group's commit at close covers exactly what was printed.
                            var firstUnprinted: [TopicPartition: Offset] = [:]
                            for left in records[index...] where firstUnprinted[left.topicPartition] == nil { firstUnprinted[left.topicPartition] = left.offset }
                            for (partition, offset) in firstUnprinted { try consumer.seek(partition, to: offset) }
                            break
                        }
                        var line = printOffset ? "\(record.topicPartition.partition):\(record.offset)\t" : ""
                        if printKey { line += (record.key.map { String(buffer: $0) } ?? "null") + "\t" }
                        line += record.value.map { String(buffer: $0) } ?? "null"
                        print(line)
                        printed += 1
                        lastRecord = .now
                    }
                }
            } catch {
                await consumer.close()
                throw error
            }
            // With a group (and auto-commit, the default) closing commits the positions.
            await consumer.close()
            FileHandle.standardError.write(Data("Processed a total of \(printed) messages\n".utf8))
        }
    }
}
