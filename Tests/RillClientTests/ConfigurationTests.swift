import RillFormat
import RillProtocol
import Testing
@testable import RillClient

/// Kafka's property names as strings, as users carry them over from Java or librdkafka.
@Suite struct ConfigurationTests {
    static let bootstrap = ["bootstrap.servers": "127.0.0.1:9092, broker-2:19092"]

    static func producer(_ properties: [String: String]) throws -> ProducerConfiguration {
        try ProducerConfiguration(properties: bootstrap.merging(properties) { $1 })
    }

    static func consumer(_ properties: [String: String]) throws -> ConsumerConfiguration {
        try ConsumerConfiguration(properties: bootstrap.merging(properties) { $1 })
    }

    /// The configuration error `body` throws, or nil (with an issue recorded) when it throws none or another kind.
    static func configurationError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> KafkaClientError? {
        do {
            try body()
            Issue.record("expected a configuration error", sourceLocation: sourceLocation)
            return nil
        } catch let error as KafkaClientError {
            #expect(error.code == .invalidConfiguration, sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected a KafkaClientError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    // MARK: Producer

    @Test("producer properties under Kafka's names set the matching fields")
    func producerPropertiesAreParsed() throws {
        let configuration = try Self.producer([
            "linger.ms": "5", "acks": "all", "enable.idempotence": "true", "compression.type": "zstd", "batch.size": "32768",
            "buffer.memory": "67108864", "max.in.flight.requests.per.connection": "3", "retries": "10", "delivery.timeout.ms": "30000",
            "max.request.size": "2097152", "max.block.ms": "1500", "partitioner.class": "round-robin", "client.id": "orders",
            "request.timeout.ms": "7000", "retry.backoff.ms": "25", "metadata.max.age.ms": "60000",
            "socket.connection.setup.timeout.ms": "3000",
            "key.serializer": "org.apache.kafka.common.serialization.ByteArraySerializer",
        ])
        #expect(configuration.client.bootstrapServers.map { "\($0.host):\($0.port)" } == ["127.0.0.1:9092", "broker-2:19092"])
        #expect(configuration.lingerMilliseconds == 5)
        #expect(configuration.acks == -1)
        #expect(configuration.isIdempotent)
        #expect(configuration.compression == .zstd)
        #expect(configuration.batchSize == 32_768)
        #expect(configuration.bufferMemory == 67_108_864)
        #expect(configuration.maximumInFlightRequests == 3)
        #expect(configuration.retries == 10)
        #expect(configuration.deliveryTimeoutMilliseconds == 30_000)
        #expect(configuration.maximumRequestSize == 2_097_152)
        #expect(configuration.maximumBlockMilliseconds == 1_500)
        if case .roundRobin = configuration.partitioner {} else { Issue.record("partitioner.class round-robin not applied") }
        #expect(configuration.client.clientID == "orders")
        #expect(configuration.client.requestTimeoutMilliseconds == 7_000)
        #expect(configuration.client.retryBackoffMilliseconds == 25)
        #expect(configuration.client.metadataMaximumAgeMilliseconds == 60_000)
        #expect(configuration.client.connectTimeoutMilliseconds == 3_000)
    }

    @Test("producer defaults are Kafka 3's: idempotent, acks=all, linger 5 ms, 16 KiB batches")
    func producerDefaults() throws {
        let configuration = try Self.producer([:])
        #expect(configuration.isIdempotent)
        #expect(configuration.acks == -1)
        #expect(configuration.lingerMilliseconds == 5)
        #expect(configuration.batchSize == 16_384)
        #expect(configuration.compression == .none)
        #expect(configuration.maximumInFlightRequests == 5)
    }

    @Test("every compression.type name, in any case", arguments: ["none", "gzip", "snappy", "lz4", "zstd", "ZSTD", "Gzip"])
    func compressionTypes(name: String) throws {
        #expect(try Self.producer(["compression.type": name]).compression == CompressionType(name: name.lowercased()))
        #expect(CompressionType(name: name) != nil)
    }

    @Test("acks accepts all, -1, 0 and 1", arguments: [("all", Int16(-1)), ("-1", -1), ("0", 0), ("1", 1)])
    func acksValues(value: String, acks: Int16) throws {
        let configuration = try Self.producer(["acks": value, "enable.idempotence": acks == -1 ? "true" : "false"])
        #expect(configuration.acks == acks)
    }

    @Test("a bad value throws a clear error naming the property and the value", arguments: [
        ("linger.ms", "five"), ("linger.ms", "-1"), ("acks", "2"), ("acks", "most"), ("compression.type", "brotli"),
        ("enable.idempotence", "yes"), ("batch.size", "-1"), ("buffer.memory", "12"), ("retries", "-3"),
        ("max.in.flight.requests.per.connection", "0"), ("delivery.timeout.ms", "0"), ("partitioner.class", "com.example.Mine"),
        ("request.timeout.ms", "soon"), ("retry.backoff.ms", "1.5"),
    ])
    func badProducerValue(name: String, value: String) {
        let error = Self.configurationError { _ = try Self.producer([name: value]) }
        #expect(error?.message.contains(name) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(value.trimmingCharacters(in: "-")) == true, "\(error?.message ?? "")")
    }

    @Test("an unknown producer property throws, naming it")
    func unknownProducerProperty() {
        let error = Self.configurationError { _ = try Self.producer(["lingerms": "5"]) }
        #expect(error?.message == "unknown producer property 'lingerms'")
    }

    @Test("bootstrap.servers is required and must be host:port pairs", arguments: ["", "localhost", "localhost:0", "localhost:70000", "host:port", " , "])
    func badBootstrapServers(servers: String) {
        let error = Self.configurationError { _ = try ProducerConfiguration(properties: ["bootstrap.servers": servers]) }
        #expect(error?.message.contains("bootstrap") == true, "\(error?.message ?? "")")
    }

    @Test("a missing bootstrap.servers throws")
    func missingBootstrapServers() {
        let error = Self.configurationError { _ = try ProducerConfiguration(properties: ["linger.ms": "5"]) }
        #expect(error?.message == "bootstrap.servers is required")
    }

    @Test("enable.idempotence=true requires acks=all", arguments: ["0", "1"])
    func idempotenceRequiresAcksAll(acks: String) {
        let error = Self.configurationError { _ = try Self.producer(["enable.idempotence": "true", "acks": acks]) }
        #expect(error?.message.contains("acks=all") == true)
    }

    @Test("enable.idempotence=true requires max.in.flight.requests.per.connection ≤ 5")
    func idempotenceRequiresAtMostFiveInFlight() throws {
        let error = Self.configurationError { _ = try Self.producer(["enable.idempotence": "true", "max.in.flight.requests.per.connection": "6"]) }
        #expect(error?.message.contains("max.in.flight.requests.per.connection") == true)
        #expect(try Self.producer(["enable.idempotence": "true", "max.in.flight.requests.per.connection": "5"]).isIdempotent)
    }

    @Test("enable.idempotence=false allows any acks and in-flight limit")
    func withoutIdempotenceAnythingGoes() throws {
        let configuration = try Self.producer(["enable.idempotence": "false", "acks": "1", "max.in.flight.requests.per.connection": "20"])
        #expect(!configuration.isIdempotent)
        #expect(configuration.acks == 1)
        #expect(configuration.maximumInFlightRequests == 20)
    }

    /// Kafka (ProducerConfig.postProcessAndValidateIdempotenceConfigs, 3.2+): idempotence is on
    /// by default, but when it was not asked for explicitly and acks, retries or the in-flight
    /// limit conflict with it, it is turned off instead of failing.
    @Test("idempotence that was not asked for is turned off by conflicting settings, as Kafka does", arguments: [
        ["acks": "1"], ["acks": "0"], ["max.in.flight.requests.per.connection": "10"], ["retries": "0"],
    ])
    func implicitIdempotenceGivesWayToConflictingSettings(properties: [String: String]) throws {
        let configuration = try Self.producer(properties)
        #expect(!configuration.isIdempotent)
    }

    @Test("enable.idempotence=true with retries=0 throws, as in Kafka")
    func explicitIdempotenceRequiresRetries() {
        let error = Self.configurationError { _ = try Self.producer(["enable.idempotence": "true", "retries": "0"]) }
        #expect(error?.message.contains("retries") == true)
    }

    @Test("buffer.memory below max.request.size throws")
    func bufferMemoryBelowMaximumRequestSize() {
        let error = Self.configurationError { _ = try Self.producer(["buffer.memory": "1048576", "max.request.size": "2097152"]) }
        #expect(error?.message.contains("buffer.memory") == true)
    }

    // MARK: Consumer

    @Test("consumer properties under Kafka's names set the matching fields")
    func consumerPropertiesAreParsed() throws {
        let configuration = try Self.consumer([
            "group.id": "billing", "auto.offset.reset": "earliest", "fetch.min.bytes": "1024", "fetch.max.wait.ms": "250",
            "max.partition.fetch.bytes": "65536", "fetch.max.bytes": "1048576", "isolation.level": "read_committed",
            "max.poll.records": "42", "check.crcs": "false", "enable.auto.commit": "false", "client.id": "reader",
        ])
        #expect(configuration.groupID == "billing")
        #expect(configuration.autoOffsetReset == .earliest)
        #expect(configuration.fetchMinimumBytes == 1024)
        #expect(configuration.fetchMaximumWaitMilliseconds == 250)
        #expect(configuration.maximumPartitionFetchBytes == 65_536)
        #expect(configuration.fetchMaximumBytes == 1_048_576)
        #expect(configuration.isolationLevel == .readCommitted)
        #expect(configuration.maximumPollRecords == 42)
        #expect(!configuration.checksRecordChecksums)
        #expect(configuration.client.clientID == "reader")
    }

    @Test("auto.offset.reset accepts Kafka's and librdkafka's names", arguments: [
        ("earliest", ConsumerConfiguration.OffsetReset.earliest), ("smallest", .earliest), ("beginning", .earliest),
        ("latest", .latest), ("largest", .latest), ("end", .latest), ("none", .none), ("error", .none),
    ])
    func autoOffsetResetNames(value: String, reset: ConsumerConfiguration.OffsetReset) throws {
        #expect(try Self.consumer(["auto.offset.reset": value]).autoOffsetReset == reset)
    }

    @Test("consumer defaults: latest, read_uncommitted, 500 records a poll")
    func consumerDefaults() throws {
        let configuration = try Self.consumer([:])
        #expect(configuration.autoOffsetReset == .latest)
        #expect(configuration.isolationLevel == .readUncommitted)
        #expect(configuration.maximumPollRecords == 500)
        #expect(configuration.groupID == nil)
    }

    @Test("a bad consumer value throws a clear error naming the property and the value", arguments: [
        ("auto.offset.reset", "first"), ("isolation.level", "serializable"), ("max.poll.records", "0"), ("fetch.max.wait.ms", "-1"),
        ("fetch.min.bytes", "a lot"), ("check.crcs", "maybe"), ("max.partition.fetch.bytes", "4294967296"),
    ])
    func badConsumerValue(name: String, value: String) {
        let error = Self.configurationError { _ = try Self.consumer([name: value]) }
        #expect(error?.message.contains(name) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(value.trimmingCharacters(in: "-")) == true, "\(error?.message ?? "")")
    }

    @Test("an unknown consumer property throws, naming it")
    func unknownConsumerProperty() {
        let error = Self.configurationError { _ = try Self.consumer(["auto.offset.rest": "earliest"]) }
        #expect(error?.message == "unknown consumer property 'auto.offset.rest'")
    }

    @Test("a producer property given to a consumer is unknown there")
    func producerPropertyOnAConsumer() {
        let error = Self.configurationError { _ = try Self.consumer(["linger.ms": "5"]) }
        #expect(error?.message.contains("linger.ms") == true)
    }
}
