import RillFormat
import RillStorage

/// A topic's settings: the storage settings (`LogConfiguration`) plus the ones the broker itself
/// applies, with the topic's own overrides remembered so DescribeConfigs can say where each
/// value came from.
public struct TopicConfiguration: Hashable, Sendable {
    public var log: LogConfiguration
    /// `min.insync.replicas`: with acks=all, the in-sync replicas an append needs.
    public var minimumInSyncReplicas: Int32
    /// The values set on the topic itself (CreateTopics configs), by Kafka name.
    public var overrides: [String: String]

    public init(log: LogConfiguration, minimumInSyncReplicas: Int32, overrides: [String: String] = [:]) {
        self.log = log
        self.minimumInSyncReplicas = minimumInSyncReplicas
        self.overrides = overrides
    }

    /// The broker's defaults with `overrides` applied; throws `.invalidConfig`-worthy messages.
    public static func make(defaults: BrokerConfiguration, overrides: [String: String]) throws -> TopicConfiguration {
        var configuration = TopicConfiguration(log: defaults.logDefaults, minimumInSyncReplicas: defaults.minimumInSyncReplicas)
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) {
            try configuration.set(name, to: value)
        }
        configuration.overrides = overrides
        return configuration
    }

    mutating func set(_ name: String, to value: String) throws {
        guard let entry = TopicConfigurationCatalog.entry(named: name) else {
            throw ConfigurationError("unknown topic config '\(name)'")
        }
        switch name {
        case "min.insync.replicas":
            guard let parsed = Int32(value), parsed >= 1 else { throw ConfigurationError("min.insync.replicas must be an integer of at least 1, not '\(value)'") }
            minimumInSyncReplicas = parsed
        case "compression.type":
            guard value == "producer" else {
                throw ConfigurationError("compression.type '\(value)' is not supported: this broker keeps the producer's compression (compression.type=producer)")
            }
        default:
            do {
                let known = try log.set(name, to: value)
                precondition(known, "catalog entry \(entry.name) is not a LogConfiguration setting")
            } catch let error as StorageError {
                throw ConfigurationError(error.message)
            }
        }
    }

    /// The effective value of a topic config, as Kafka prints it.
    public func value(of name: String) -> String? {
        switch name {
        case "min.insync.replicas": String(minimumInSyncReplicas)
        case "compression.type": "producer"
        default: log.value(of: name)
        }
    }
}

/// A configuration value a user gave that cannot be used.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The topic configs this broker understands, with their broker-level synonyms and Kafka types
/// (for DescribeConfigs).
public enum TopicConfigurationCatalog {
    public enum ValueType: Int8, Sendable {
        case boolean = 1, string = 2, int = 3, short = 4, long = 5, double = 6, list = 7
    }

    public struct Entry: Sendable {
        public var name: String
        public var brokerName: String
        public var type: ValueType
    }

    public static let entries: [Entry] = [
        Entry(name: "cleanup.policy", brokerName: "log.cleanup.policy", type: .list),
        Entry(name: "compression.type", brokerName: "compression.type", type: .string),
        Entry(name: "delete.retention.ms", brokerName: "log.cleaner.delete.retention.ms", type: .long),
        Entry(name: "file.delete.delay.ms", brokerName: "log.segment.delete.delay.ms", type: .long),
        Entry(name: "flush.messages", brokerName: "log.flush.interval.messages", type: .long),
        Entry(name: "flush.ms", brokerName: "log.flush.interval.ms", type: .long),
        Entry(name: "index.interval.bytes", brokerName: "log.index.interval.bytes", type: .int),
        Entry(name: "max.message.bytes", brokerName: "message.max.bytes", type: .int),
        Entry(name: "message.timestamp.type", brokerName: "log.message.timestamp.type", type: .string),
        Entry(name: "min.insync.replicas", brokerName: "min.insync.replicas", type: .int),
        Entry(name: "retention.bytes", brokerName: "log.retention.bytes", type: .long),
        Entry(name: "retention.ms", brokerName: "log.retention.ms", type: .long),
        Entry(name: "segment.bytes", brokerName: "log.segment.bytes", type: .int),
        Entry(name: "segment.index.bytes", brokerName: "log.index.size.max.bytes", type: .int),
        Entry(name: "segment.ms", brokerName: "log.roll.ms", type: .long),
    ]

    public static func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}
