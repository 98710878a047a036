import RillFormat

/// Producer settings under Kafka's names, with Kafka 3+ defaults (idempotence on, acks=all).
public struct ProducerConfiguration: Sendable {
    public var client: ClientConfiguration
    /// `acks`: 0 (no answer), 1 (leader), -1 / all (in-sync replicas).
    public var acks: Int16 = -1
    /// `enable.idempotence`: no duplicates and no reordering across retries.
    public var isIdempotent = true
    /// `batch.size`: bytes per partition batch before it is sent.
    public var batchSize = 16_384
    /// `linger.ms`: how long a batch may wait for more records.
    public var lingerMilliseconds: Int64 = 5
    /// `buffer.memory`: bytes of records waiting to be sent or acknowledged; `send` waits (up to
    /// `max.block.ms`) when full.
    public var bufferMemory = 33_554_432
    /// `compression.type`.
    public var compression: CompressionType = .none
    /// `max.in.flight.requests.per.connection` (at most 5 with idempotence).
    public var maximumInFlightRequests = 5
    /// `retries`.
    public var retries = Int.max
    /// `delivery.timeout.ms`: the time a record has to be acknowledged, retries included.
    public var deliveryTimeoutMilliseconds: Int64 = 120_000
    /// `max.request.size`: bytes per Produce request, and the largest record.
    public var maximumRequestSize = 1_048_576
    /// `max.block.ms`: how long `send` waits for buffer space or metadata.
    public var maximumBlockMilliseconds: Int64 = 60_000
    /// `partitioner.class` (`default`, `round-robin`, or Java's class names), or a closure.
    public var partitioner: PartitionerStrategy = .default

    public init(bootstrapServers: [(host: String, port: Int)]) {
        client = ClientConfiguration(bootstrapServers: bootstrapServers)
    }

    /// From Kafka producer properties (`"linger.ms": "5"`). Unknown names are an error.
    ///
    /// As in Kafka 3.2+ (`ProducerConfig.postProcessAndValidateIdempotenceConfigs`), idempotence
    /// that was not asked for (`enable.idempotence` absent) gives way to settings that conflict
    /// with it — acks other than all, `retries=0`, more than 5 requests in flight — so existing
    /// configurations carry over; asked for explicitly, the conflict is an error.
    public init(properties: [String: String]) throws {
        client = try ClientConfiguration(properties: properties)
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) where try !client.set(name, value) {
            try set(name, value)
        }
        if properties["enable.idempotence"] == nil, acks != -1 || retries == 0 || maximumInFlightRequests > 5 {
            isIdempotent = false
        }
        try validate()
    }

    public mutating func set(_ name: String, _ value: String) throws {
        switch name {
        case "acks":
            switch value {
            case "all", "-1": acks = -1
            case "0": acks = 0
            case "1": acks = 1
            default: throw KafkaClientError(.invalidConfiguration, "acks must be all, -1, 0 or 1, not '\(value)'")
            }
        case "enable.idempotence": isIdempotent = try PropertyParser.boolean(name, value)
        case "batch.size": batchSize = Int(try PropertyParser.integer(name, value, minimum: 0, maximum: 64 << 20))
        case "linger.ms": lingerMilliseconds = try PropertyParser.integer(name, value, minimum: 0)
        case "buffer.memory": bufferMemory = Int(try PropertyParser.integer(name, value, minimum: 1024))
        case "compression.type":
            guard let type = CompressionType(name: value) else {
                throw KafkaClientError(.invalidConfiguration, "compression.type must be none, gzip, snappy, lz4 or zstd, not '\(value)'")
            }
            compression = type
        case "max.in.flight.requests.per.connection": maximumInFlightRequests = Int(try PropertyParser.integer(name, value, minimum: 1, maximum: 1000))
        case "retries": retries = Int(try PropertyParser.integer(name, value, minimum: 0))
        case "delivery.timeout.ms": deliveryTimeoutMilliseconds = try PropertyParser.integer(name, value, minimum: 1)
        case "max.request.size": maximumRequestSize = Int(try PropertyParser.integer(name, value, minimum: 1024))
        case "max.block.ms": maximumBlockMilliseconds = try PropertyParser.integer(name, value, minimum: 0)
        case "partitioner.class":
            switch value {
            case "default", "org.apache.kafka.clients.producer.internals.DefaultPartitioner", "murmur2": partitioner = .default
            case "round-robin", "roundrobin", "org.apache.kafka.clients.producer.RoundRobinPartitioner": partitioner = .roundRobin
            default: throw KafkaClientError(.invalidConfiguration, "partitioner.class '\(value)' is not known (default, round-robin)")
            }
        case "key.serializer", "value.serializer":
            break  // Java serializers: this client takes bytes.
        default:
            throw KafkaClientError(.invalidConfiguration, "unknown producer property '\(name)'")
        }
    }

    public func validate() throws {
        if isIdempotent {
            guard acks == -1 else { throw KafkaClientError(.invalidConfiguration, "enable.idempotence requires acks=all") }
            guard maximumInFlightRequests <= 5 else {
                throw KafkaClientError(.invalidConfiguration, "enable.idempotence requires max.in.flight.requests.per.connection ≤ 5")
            }
            guard retries > 0 else { throw KafkaClientError(.invalidConfiguration, "enable.idempotence requires retries > 0") }
        }
        guard bufferMemory >= maximumRequestSize else {
            throw KafkaClientError(.invalidConfiguration, "buffer.memory must be at least max.request.size")
        }
    }
}
