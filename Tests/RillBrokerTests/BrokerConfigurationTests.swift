import RillBroker
import RillStorage
import Testing

/// `server.properties` under Kafka's names, with Kafka's defaults and precedence rules.
@Suite struct BrokerConfigurationTests {
    func configuration(_ pairs: [(String, String)]) throws -> BrokerConfiguration {
        try BrokerConfiguration(pairs: pairs)
    }

    /// The configuration error `pairs` cause (failing the test when they cause none).
    func error(_ pairs: [(String, String)], sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigurationError {
        try #require(throws: ConfigurationError.self, sourceLocation: sourceLocation) { try BrokerConfiguration(pairs: pairs) }
    }

    // MARK: Defaults

    @Test func anEmptyConfigurationHasKafkasDefaults() throws {
        let configuration = try configuration([])
        #expect(configuration.nodeID == 0)
        #expect(configuration.listenPort == 9092)
        #expect(configuration.defaultPartitionCount == 1)
        #expect(configuration.defaultReplicationFactor == 1)
        #expect(configuration.isAutoTopicCreationEnabled)
        #expect(configuration.isTopicDeletionEnabled)
        #expect(configuration.minimumInSyncReplicas == 1)
        #expect(configuration.maximumRequestBytes == 104_857_600)
        #expect(configuration.retentionCheckIntervalMilliseconds == 300_000)
        #expect(configuration.cleanerBackoffMilliseconds == 15_000)
        let log = configuration.logDefaults
        #expect(log.segmentBytes == 1_073_741_824)
        #expect(log.retentionMilliseconds == 168 * 3_600_000)
        #expect(log.segmentMilliseconds == 168 * 3_600_000)
        #expect(log.retentionBytes == -1)
        #expect(log.maximumMessageBytes == 1_048_588)
        #expect(log.cleanupPolicy == [.delete])
        #expect(log.messageTimestampType == .createTime)
        #expect(log.flushMessages == .max)
        #expect(log.indexIntervalBytes == 4096)
        #expect(log.maximumIndexBytes == 10_485_760)
        #expect(log.deleteRetentionMilliseconds == 86_400_000)
        #expect(log.producerIDExpirationMilliseconds == 86_400_000)
        #expect(configuration.ignoredNames.isEmpty)
        #expect(configuration.explicitlySet.isEmpty)
    }

    // MARK: Log settings under broker names

    @Test func brokerLogNamesSetTheLogDefaults() throws {
        let configuration = try configuration([
            ("log.segment.bytes", "1048576"),
            ("log.roll.ms", "60000"),
            ("log.retention.bytes", "5000000"),
            ("log.flush.interval.messages", "10"),
            ("log.flush.interval.ms", "250"),
            ("message.max.bytes", "2000"),
            ("log.cleanup.policy", "compact"),
            ("log.message.timestamp.type", "LogAppendTime"),
            ("log.index.interval.bytes", "128"),
            ("log.index.size.max.bytes", "4096"),
            ("log.cleaner.delete.retention.ms", "1000"),
            ("producer.id.expiration.ms", "5000"),
            ("log.flush.offset.checkpoint.interval.ms", "7000"),
        ])
        let log = configuration.logDefaults
        #expect(log.segmentBytes == 1_048_576)
        #expect(log.segmentMilliseconds == 60_000)
        #expect(log.retentionBytes == 5_000_000)
        #expect(log.flushMessages == 10)
        #expect(log.flushMilliseconds == 250)
        #expect(log.maximumMessageBytes == 2000)
        #expect(log.cleanupPolicy == [.compact])
        #expect(log.messageTimestampType == .logAppendTime)
        #expect(log.indexIntervalBytes == 128)
        #expect(log.maximumIndexBytes == 4096)
        #expect(log.deleteRetentionMilliseconds == 1000)
        #expect(log.producerIDExpirationMilliseconds == 5000)
        #expect(log.recoveryPointCheckpointIntervalMilliseconds == 7000)
        #expect(configuration.ignoredNames.isEmpty)
        #expect(configuration.explicitlySet["log.segment.bytes"] == "1048576")
    }

    @Test func bothCleanupPoliciesMayBeGiven() throws {
        #expect(try configuration([("log.cleanup.policy", "compact,delete")]).logDefaults.cleanupPolicy == [.compact, .delete])
        #expect(try configuration([("log.cleanup.policy", "delete, compact")]).logDefaults.cleanupPolicy == [.compact, .delete])
    }

    @Test func retentionHoursAndMinutesConvertToMilliseconds() throws {
        #expect(try configuration([("log.retention.hours", "2")]).logDefaults.retentionMilliseconds == 7_200_000)
        #expect(try configuration([("log.retention.minutes", "3")]).logDefaults.retentionMilliseconds == 180_000)
        #expect(try configuration([("log.retention.ms", "1234")]).logDefaults.retentionMilliseconds == 1234)
    }

    /// Kafka: log.retention.ms wins over .minutes, which wins over .hours, whatever the order.
    @Test(arguments: [
        [("log.retention.ms", "1000"), ("log.retention.minutes", "3"), ("log.retention.hours", "2")],
        [("log.retention.hours", "2"), ("log.retention.minutes", "3"), ("log.retention.ms", "1000")],
        [("log.retention.minutes", "3"), ("log.retention.ms", "1000"), ("log.retention.hours", "2")],
    ])
    func retentionMillisecondsWinOverMinutesAndHoursInAnyOrder(pairs: [(String, String)]) throws {
        #expect(try configuration(pairs).logDefaults.retentionMilliseconds == 1000)
    }

    @Test(arguments: [
        [("log.retention.minutes", "3"), ("log.retention.hours", "2")],
        [("log.retention.hours", "2"), ("log.retention.minutes", "3")],
    ])
    func retentionMinutesWinOverHoursInAnyOrder(pairs: [(String, String)]) throws {
        #expect(try configuration(pairs).logDefaults.retentionMilliseconds == 180_000)
    }

    /// Kafka treats any negative retention time as "forever" (-1); `log.retention.hours=-1` is the
    /// usual way to write that in server.properties.
    @Test(arguments: [
        ("log.retention.hours", "-1"), ("log.retention.minutes", "-1"), ("log.retention.ms", "-1"),
        ("log.retention.hours", "-24"), ("log.retention.minutes", "-5"), ("log.retention.ms", "-2"),
    ])
    func aNegativeRetentionTimeMeansForever(name: String, value: String) throws {
        let configuration = try configuration([(name, value)])
        #expect(configuration.logDefaults.retentionMilliseconds == -1)
        #expect(configuration.brokerValue(forTopicConfig: "retention.ms") == ("-1", true))
    }

    /// Kafka's hours and minutes settings are ints: a larger value is a configuration error that
    /// names the setting, not an arithmetic overflow that crashes the broker.
    @Test(arguments: ["log.retention.hours", "log.retention.minutes", "log.roll.hours"])
    func anOversizedHoursOrMinutesValueIsAnErrorNamingTheSetting(name: String) throws {
        for value in ["9223372036854775807", "2147483648", "-9223372036854775808"] {
            let error = try error([(name, value)])
            #expect(error.message.contains(name))
        }
    }

    @Test func theLargestIntHoursAreAccepted() throws {
        let configuration = try configuration([("log.retention.hours", "2147483647"), ("log.roll.hours", "2147483647")])
        #expect(configuration.logDefaults.retentionMilliseconds == 2_147_483_647 * 3_600_000)
        #expect(configuration.logDefaults.segmentMilliseconds == 2_147_483_647 * 3_600_000)
    }

    @Test func rollHoursConvertsAndRollMillisecondsWinsInAnyOrder() throws {
        #expect(try configuration([("log.roll.hours", "2")]).logDefaults.segmentMilliseconds == 7_200_000)
        #expect(try configuration([("log.roll.ms", "5000"), ("log.roll.hours", "1")]).logDefaults.segmentMilliseconds == 5000)
        #expect(try configuration([("log.roll.hours", "1"), ("log.roll.ms", "5000")]).logDefaults.segmentMilliseconds == 5000)
    }

    @Test func compressionTypeProducerIsAcceptedAndNothingElse() throws {
        #expect(try configuration([("compression.type", "producer")]).ignoredNames.isEmpty)
        for codec in ["gzip", "snappy", "lz4", "zstd", "uncompressed"] {
            let error = try error([("compression.type", codec)])
            #expect(error.message.contains("compression.type"))
        }
    }

    @Test func minInsyncReplicasIsABrokerSettingNotALogSetting() throws {
        let configuration = try configuration([("min.insync.replicas", "2")])
        #expect(configuration.minimumInSyncReplicas == 2)
        #expect(configuration.logDefaults == LogConfiguration())
    }

    /// Every topic config the catalog lists has a broker-level synonym the broker understands.
    @Test func everyCatalogEntrysBrokerNameIsKnown() throws {
        let defaults = try TopicConfiguration.make(defaults: BrokerConfiguration(), overrides: [:])
        for entry in TopicConfigurationCatalog.entries {
            let value = try #require(defaults.value(of: entry.name), "\(entry.name) has no value")
            let configuration = try configuration([(entry.brokerName, value)])
            #expect(configuration.ignoredNames.isEmpty, "\(entry.brokerName) was ignored")
            #expect(configuration.explicitlySet[entry.brokerName] == value)
        }
    }

    // MARK: Listeners

    @Test func aPlaintextListenerGivesHostAndPort() throws {
        let configuration = try configuration([("listeners", "PLAINTEXT://broker.example:19092")])
        #expect(configuration.listenHost == "broker.example")
        #expect(configuration.listenPort == 19092)
        #expect(configuration.advertisedAddress == ("broker.example", 19092))
    }

    @Test func anEmptyListenerHostMeansAllInterfacesAndIsAdvertisedAsLoopback() throws {
        let configuration = try configuration([("listeners", "PLAINTEXT://:9093")])
        #expect(configuration.listenHost == "0.0.0.0")
        #expect(configuration.listenPort == 9093)
        #expect(configuration.advertisedAddress == ("127.0.0.1", 9093))
    }

    @Test func onlyTheFirstOfSeveralListenersIsUsed() throws {
        let configuration = try configuration([("listeners", "PLAINTEXT://first:1111,PLAINTEXT://second:2222")])
        #expect(configuration.listenHost == "first")
        #expect(configuration.listenPort == 1111)
    }

    @Test func bracketedIPv6HostsLoseTheirBrackets() throws {
        let configuration = try configuration([("listeners", "PLAINTEXT://[::1]:9092")])
        #expect(configuration.listenHost == "::1")
        #expect(configuration.listenPort == 9092)
    }

    @Test(arguments: ["SSL://host:9093", "SASL_PLAINTEXT://host:9094", "CONTROLLER://:9093", "INTERNAL://host:9092"])
    func nonPlaintextListenersAreRefused(listener: String) throws {
        let error = try error([("listeners", listener)])
        #expect(error.message.contains("listeners"))
        #expect(error.message.contains("PLAINTEXT"))
    }

    @Test(arguments: ["PLAINTEXT://host", "PLAINTEXT://host:port", "PLAINTEXT://host:70000", "PLAINTEXT://host:-1", ""])
    func malformedListenerAddressesAreRefused(listener: String) throws {
        let error = try error([("listeners", listener)])
        #expect(error.message.contains("listeners"))
    }

    @Test func advertisedListenersOverrideTheAdvertisedAddressOnly() throws {
        let configuration = try configuration([
            ("listeners", "PLAINTEXT://0.0.0.0:9092"), ("advertised.listeners", "PLAINTEXT://public.example:29092"),
        ])
        #expect(configuration.listenHost == "0.0.0.0")
        #expect(configuration.listenPort == 9092)
        #expect(configuration.advertisedAddress == ("public.example", 29092))
    }

    @Test func withoutAdvertisedListenersTheListenAddressIsAdvertised() throws {
        let configuration = try configuration([("listeners", "PLAINTEXT://10.0.0.5:9092")])
        #expect(configuration.advertisedAddress == ("10.0.0.5", 9092))
    }

    // MARK: Other broker settings

    @Test func brokerSettingsAreRead() throws {
        let configuration = try configuration([
            ("node.id", "3"), ("log.dirs", "/var/rill/a,/var/rill/b"), ("num.partitions", "6"),
            ("auto.create.topics.enable", "FALSE"), ("delete.topic.enable", "false"),
            ("socket.request.max.bytes", "2048"), ("log.retention.check.interval.ms", "1000"),
            ("log.cleaner.backoff.ms", "2000"), ("rill.event.loops", "2"), ("rill.max.partitions", "10"),
            ("rill.max.connections", "5"),
        ])
        #expect(configuration.nodeID == 3)
        #expect(configuration.dataDirectory == "/var/rill/a")
        #expect(configuration.defaultPartitionCount == 6)
        #expect(!configuration.isAutoTopicCreationEnabled)
        #expect(!configuration.isTopicDeletionEnabled)
        #expect(configuration.maximumRequestBytes == 2048)
        #expect(configuration.retentionCheckIntervalMilliseconds == 1000)
        #expect(configuration.cleanerBackoffMilliseconds == 2000)
        #expect(configuration.eventLoopCount == 2)
        #expect(configuration.maximumPartitionCount == 10)
        #expect(configuration.maximumConnectionCount == 5)
    }

    @Test func brokerIDIsASynonymOfNodeID() throws {
        #expect(try configuration([("broker.id", "7")]).nodeID == 7)
    }

    @Test func valuesAreTrimmed() throws {
        #expect(try configuration([("num.partitions", "  4 ")]).defaultPartitionCount == 4)
    }

    @Test(arguments: [
        ("node.id", "-1"), ("node.id", "one"), ("num.partitions", "0"), ("num.partitions", "3.5"),
        ("auto.create.topics.enable", "yes"), ("delete.topic.enable", "1"), ("min.insync.replicas", "0"),
        ("socket.request.max.bytes", "100"), ("log.segment.bytes", "abc"), ("log.segment.bytes", "10"),
        ("message.max.bytes", "-5"), ("log.cleanup.policy", "archive"),
        ("log.message.timestamp.type", "Now"), ("log.roll.hours", "0"), ("log.retention.hours", "1.5"), ("log.retention.ms", "forever"), ("log.dirs", ""), ("rill.event.loops", "-1"),
        ("default.replication.factor", "0"), ("log.flush.interval.messages", "0"),
    ])
    func anInvalidValueIsAnErrorThatNamesTheSetting(name: String, value: String) throws {
        let error = try error([(name, value)])
        #expect(error.message.contains(name), "\(error.message)")
    }

    @Test(arguments: ["2", "3"])
    func aReplicationFactorAboveOneIsRefusedOnASingleBroker(factor: String) throws {
        let error = try error([("default.replication.factor", factor)])
        #expect(error.message.contains("default.replication.factor"))
        #expect(try configuration([("default.replication.factor", "1")]).defaultReplicationFactor == 1)
    }

    @Test func unknownNamesAreIgnoredAndReported() throws {
        let configuration = try configuration([
            ("zookeeper.connect", "localhost:2181"), ("num.network.threads", "3"), ("num.partitions", "2"),
            ("process.roles", "broker,controller"),
        ])
        #expect(Set(configuration.ignoredNames) == ["zookeeper.connect", "num.network.threads", "process.roles"])
        #expect(configuration.explicitlySet.keys.sorted() == ["num.partitions"])
        #expect(configuration.defaultPartitionCount == 2)
    }

    // MARK: Properties text and overrides

    @Test func propertiesTextIsReadAndOverridesWin() throws {
        let text = """
            # server.properties
            node.id=1
            num.partitions=3
            log.retention.hours=168
            """
        let configuration = try BrokerConfiguration(propertiesText: text, overrides: [("num.partitions", "5"), ("log.retention.hours", "1")])
        #expect(configuration.nodeID == 1)
        #expect(configuration.defaultPartitionCount == 5)
        #expect(configuration.logDefaults.retentionMilliseconds == 3_600_000)
    }

    @Test func aServerPropertiesFileWithWindowsLineEndingsLoads() throws {
        let configuration = try BrokerConfiguration(propertiesText: "# edited on Windows\r\nnode.id=3\r\nnum.partitions=2\r\n", overrides: [])
        #expect(configuration.nodeID == 3)
        #expect(configuration.defaultPartitionCount == 2)
    }

    @Test func anOverrideOfHoursDoesNotBeatMillisecondsFromTheFile() throws {
        let configuration = try BrokerConfiguration(propertiesText: "log.retention.ms=5000\n", overrides: [("log.retention.hours", "1")])
        #expect(configuration.logDefaults.retentionMilliseconds == 5000)
    }

    @Test func aPropertiesSyntaxErrorIsAConfigurationErrorWithTheLine() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try BrokerConfiguration(propertiesText: "node.id=1\nbad=\\uXYZW\n", overrides: [])
        }
        #expect(error.message.contains("line 2"))
    }

    @Test func explicitRetentionHoursMarkRetentionMillisecondsAsExplicit() throws {
        let implicit = try configuration([]).brokerValue(forTopicConfig: "retention.ms")
        #expect(implicit.value == String(168 * 3_600_000))
        #expect(!implicit.isExplicit)
        let explicit = try configuration([("log.retention.hours", "1")]).brokerValue(forTopicConfig: "retention.ms")
        #expect(explicit.value == "3600000")
        #expect(explicit.isExplicit)
        #expect(try configuration([("min.insync.replicas", "2")]).brokerValue(forTopicConfig: "min.insync.replicas") == ("2", true))
        #expect(try configuration([]).brokerValue(forTopicConfig: "no.such.config").value == nil)
    }
}
