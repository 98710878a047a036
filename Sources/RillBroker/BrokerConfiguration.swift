import RillFormat
import RillStorage

/// The broker's settings, under Kafka's broker config names (`server.properties`), with
/// Kafka's defaults. Unknown names are kept and reported (`ignoredNames`), so a user's existing
/// server.properties loads; a known name with a bad value is an error at start-up.
public struct BrokerConfiguration: Sendable {
    /// `node.id` (or `broker.id`).
    public var nodeID: Int32 = 0
    /// Where the listener binds (`listeners=PLAINTEXT://HOST:PORT`, or `--listen`).
    public var listenHost = "127.0.0.1"
    public var listenPort = 9092
    /// The address clients are told to use (`advertised.listeners`); the listen address if unset.
    public var advertisedHost: String?
    public var advertisedPort: Int?
    /// `log.dirs` (first entry) or `log.dir`.
    public var dataDirectory = "./data"
    /// `num.partitions`: partitions of an auto-created topic, or of CreateTopics with -1.
    public var defaultPartitionCount: Int32 = 1
    /// `default.replication.factor`: 1 on a single broker.
    public var defaultReplicationFactor: Int16 = 1
    /// `auto.create.topics.enable`.
    public var isAutoTopicCreationEnabled = true
    /// `delete.topic.enable`.
    public var isTopicDeletionEnabled = true
    /// Topic defaults from the `log.*` broker names (`log.segment.bytes`, `log.retention.ms`, …).
    public var logDefaults = LogConfiguration()
    /// `min.insync.replicas`.
    public var minimumInSyncReplicas: Int32 = 1
    /// `socket.request.max.bytes`: the largest request frame accepted.
    public var maximumRequestBytes = 104_857_600
    /// `log.retention.check.interval.ms`.
    public var retentionCheckIntervalMilliseconds: Int64 = 300_000
    /// `log.cleaner.backoff.ms`: pause between compaction passes.
    public var cleanerBackoffMilliseconds: Int64 = 15_000
    /// `rill.event.loops`: event loops (and partition shards); 0 = one per core.
    public var eventLoopCount = 0
    /// `rill.max.partitions`: a limit on partitions across all topics.
    public var maximumPartitionCount = 100_000
    /// `rill.max.connections`: open client connections accepted at once.
    public var maximumConnectionCount = 10_000
    /// `rill.simulate.power.loss`: keep unsynced writes in process memory, so that a kill -9
    /// loses them as a power cut would (for fault testing the flush policy; slower, no sendfile).
    public var simulatesPowerLoss = false
    /// The group coordinator's settings (`group.*`, `offsets.*`).
    public var groups = GroupCoordinatorConfiguration()
    /// Names explicitly set (for DescribeConfigs' config source), by Kafka name.
    public private(set) var explicitlySet: [String: String] = [:]
    /// Names in the input this broker does not know; they are ignored.
    public private(set) var ignoredNames: [String] = []

    public init() {}

    /// The broker configuration from `server.properties` text and `--override` pairs (which win).
    public init(propertiesText: String?, overrides: [(String, String)]) throws {
        var pairs: [(String, String)] = []
        if let propertiesText {
            do {
                pairs = try JavaProperties.parse(propertiesText).map { ($0.key, $0.value) }
            } catch let error as JavaProperties.ParseError {
                throw ConfigurationError("server.properties \(error)")
            }
        }
        try self.init(pairs: pairs + overrides)
    }

    public init(pairs: [(String, String)]) throws {
        // Kafka's precedence: log.retention.ms over .minutes over .hours; log.roll.ms over .hours.
        let ordered = pairs.sorted { Self.precedence($0.0) < Self.precedence($1.0) }
        for (name, value) in ordered {
            if try !apply(name, value.trimmingSpaces) { ignoredNames.append(name) }
            else { explicitlySet[name] = value.trimmingSpaces }
        }
        try logDefaults.validate()
    }

    private static func precedence(_ name: String) -> Int {
        switch name {
        case "log.retention.hours", "log.roll.hours": 0
        case "log.retention.minutes": 1
        default: 2
        }
    }

    /// The address to put in Metadata and FindCoordinator responses.
    public var advertisedAddress: (host: String, port: Int) {
        (advertisedHost ?? (listenHost == "0.0.0.0" ? "127.0.0.1" : listenHost), advertisedPort ?? listenPort)
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private mutating func apply(_ name: String, _ value: String) throws -> Bool {
        switch name {
        case "node.id", "broker.id": nodeID = try Self.int32(name, value, minimum: 0)
        case "listeners":
            (listenHost, listenPort) = try Self.listener(name, value)
        case "advertised.listeners":
            let (host, port) = try Self.listener(name, value)
            (advertisedHost, advertisedPort) = (host, port)
        case "log.dirs", "log.dir":
            guard let first = value.split(separator: ",").first, !first.isEmpty else { throw ConfigurationError("\(name) is empty") }
            dataDirectory = String(first)
        case "num.partitions": defaultPartitionCount = try Self.int32(name, value, minimum: 1)
        case "default.replication.factor":
            let factor = try Self.int32(name, value, minimum: 1)
            guard factor == 1 else { throw ConfigurationError("default.replication.factor must be 1 on a single broker, not \(factor)") }
            defaultReplicationFactor = Int16(factor)
        case "auto.create.topics.enable": isAutoTopicCreationEnabled = try Self.boolean(name, value)
        case "delete.topic.enable": isTopicDeletionEnabled = try Self.boolean(name, value)
        case "min.insync.replicas": minimumInSyncReplicas = try Self.int32(name, value, minimum: 1)
        case "socket.request.max.bytes": maximumRequestBytes = Int(try Self.int32(name, value, minimum: 1024))
        case "log.retention.check.interval.ms": retentionCheckIntervalMilliseconds = try Self.int64(name, value, minimum: 1)
        case "log.cleaner.backoff.ms": cleanerBackoffMilliseconds = try Self.int64(name, value, minimum: 1)
        case "rill.event.loops": eventLoopCount = Int(try Self.int32(name, value, minimum: 0))
        case "rill.max.partitions": maximumPartitionCount = Int(try Self.int32(name, value, minimum: 1))
        case "rill.max.connections": maximumConnectionCount = Int(try Self.int32(name, value, minimum: 1))
        case "rill.simulate.power.loss": simulatesPowerLoss = try Self.boolean(name, value)
        // Kafka's hours and minutes are ints (so the product fits an Int64), and any negative
        // retention time means "keep forever" (KafkaConfig.logRetentionTimeMillis).
        case "log.retention.hours": try setRetention(Int64(try Self.int32(name, value, minimum: .min)) * 3_600_000, from: name)
        case "log.retention.minutes": try setRetention(Int64(try Self.int32(name, value, minimum: .min)) * 60_000, from: name)
        case "log.retention.ms": try setRetention(try Self.int64(name, value, minimum: .min), from: name)
        case "log.roll.hours": try setLog("segment.ms", String(Int64(try Self.int32(name, value, minimum: 1)) * 3_600_000), from: name)
        case "producer.id.expiration.ms": logDefaults.producerIDExpirationMilliseconds = try Self.int64(name, value, minimum: 1)
        case "log.flush.offset.checkpoint.interval.ms": logDefaults.recoveryPointCheckpointIntervalMilliseconds = try Self.int64(name, value, minimum: 1)
        default:
            if try groups.set(name, value) { return true }
            guard let entry = TopicConfigurationCatalog.entries.first(where: { $0.brokerName == name }), entry.name != "min.insync.replicas" else {
                return false
            }
            if entry.name == "compression.type" {
                guard value == "producer" else { throw ConfigurationError("compression.type '\(value)' is not supported; only 'producer'") }
                return true
            }
            try setLog(entry.name, value, from: name)
        }
        return true
    }

    private mutating func setRetention(_ milliseconds: Int64, from brokerName: String) throws {
        try setLog("retention.ms", String(max(milliseconds, -1)), from: brokerName)
    }

    private mutating func setLog(_ topicName: String, _ value: String, from brokerName: String) throws {
        do {
            try logDefaults.set(topicName, to: value)
        } catch let error as StorageError {
            throw ConfigurationError("\(brokerName): \(error.message)")
        }
    }

    static func listener(_ name: String, _ value: String) throws -> (String, Int) {
        // PLAINTEXT://host:port (the first listener); other protocols are not supported.
        guard let first = value.split(separator: ",").first else { throw ConfigurationError("\(name) is empty") }
        var address = String(first)
        if let scheme = address.range(of: "://") {
            let protocolName = address[..<scheme.lowerBound]
            guard protocolName == "PLAINTEXT" else {
                throw ConfigurationError("\(name): only PLAINTEXT listeners are supported, not \(protocolName)")
            }
            address = String(address[scheme.upperBound...])
        }
        return try parseHostPort(address, what: name)
    }

    /// `HOST:PORT` (an empty host means all interfaces, as in Kafka's `PLAINTEXT://:9092`).
    public static func parseHostPort(_ text: String, what: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigurationError("\(what) must be HOST:PORT, not '\(text)'")
        }
        let host = String(text[..<colon]).trimmingCharacters(in: "[]")
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    static func int32(_ name: String, _ value: String, minimum: Int32) throws -> Int32 {
        guard let parsed = Int32(value) else { throw ConfigurationError("\(name) must be an integer, not '\(value)'") }
        guard parsed >= minimum else { throw ConfigurationError("\(name) must be at least \(minimum), not \(parsed)") }
        return parsed
    }

    static func int64(_ name: String, _ value: String, minimum: Int64) throws -> Int64 {
        guard let parsed = Int64(value) else { throw ConfigurationError("\(name) must be an integer, not '\(value)'") }
        guard parsed >= minimum else { throw ConfigurationError("\(name) must be at least \(minimum), not \(parsed)") }
        return parsed
    }

    static func boolean(_ name: String, _ value: String) throws -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw ConfigurationError("\(name) must be true or false, not '\(value)'")
        }
    }

    /// The broker-level value of a topic config's synonym, and whether it was set explicitly.
    public func brokerValue(forTopicConfig name: String) -> (value: String?, isExplicit: Bool) {
        guard let entry = TopicConfigurationCatalog.entry(named: name) else { return (nil, false) }
        let defaults = TopicConfiguration(log: logDefaults, minimumInSyncReplicas: minimumInSyncReplicas)
        let isExplicit = explicitlySet[entry.brokerName] != nil
            || (name == "retention.ms" && (explicitlySet["log.retention.hours"] != nil || explicitlySet["log.retention.minutes"] != nil))
            || (name == "segment.ms" && explicitlySet["log.roll.hours"] != nil)
        return (defaults.value(of: name), isExplicit)
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text = text.dropFirst() }
        while text.last?.isWhitespace == true { text = text.dropLast() }
        return String(text)
    }

    func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
