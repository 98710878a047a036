import RillBroker
import RillProtocol
import RillStorage
import Testing

/// Topic-level configs (CreateTopics) on top of the broker's defaults.
@Suite struct TopicConfigurationTests {
    @Test func withoutOverridesATopicHasTheBrokersDefaults() throws {
        let broker = try BrokerConfiguration(pairs: [("log.retention.hours", "1"), ("min.insync.replicas", "2"), ("message.max.bytes", "5000")])
        let topic = try TopicConfiguration.make(defaults: broker, overrides: [:])
        #expect(topic.log == broker.logDefaults)
        #expect(topic.log.retentionMilliseconds == 3_600_000)
        #expect(topic.minimumInSyncReplicas == 2)
        #expect(topic.overrides.isEmpty)
    }

    @Test func overridesAreAppliedAndRemembered() throws {
        let overrides = [
            "retention.ms": "1000", "cleanup.policy": "compact", "max.message.bytes": "500", "segment.bytes": "1024",
            "message.timestamp.type": "LogAppendTime", "segment.ms": "60000", "retention.bytes": "4096",
            "flush.messages": "1", "min.insync.replicas": "2", "compression.type": "producer",
        ]
        let topic = try topicConfiguration(overrides)
        #expect(topic.log.retentionMilliseconds == 1000)
        #expect(topic.log.cleanupPolicy == [.compact])
        #expect(topic.log.maximumMessageBytes == 500)
        #expect(topic.log.segmentBytes == 1024)
        #expect(topic.log.messageTimestampType == .logAppendTime)
        #expect(topic.log.segmentMilliseconds == 60_000)
        #expect(topic.log.retentionBytes == 4096)
        #expect(topic.log.flushMessages == 1)
        #expect(topic.minimumInSyncReplicas == 2)
        #expect(topic.overrides == overrides)
        // Settings not overridden keep the broker's defaults.
        #expect(topic.log.indexIntervalBytes == LogConfiguration().indexIntervalBytes)
    }

    @Test func effectiveValuesArePrintedAsKafkaPrintsThem() throws {
        let topic = try topicConfiguration(["cleanup.policy": "delete,compact", "min.insync.replicas": "3"])
        #expect(topic.value(of: "cleanup.policy") == "delete,compact")
        #expect(topic.value(of: "min.insync.replicas") == "3")
        #expect(topic.value(of: "compression.type") == "producer")
        #expect(topic.value(of: "retention.ms") == String(168 * 3_600_000))
        #expect(topic.value(of: "no.such.config") == nil)
    }

    @Test(arguments: ["no.such.config", "log.retention.ms", "message.max.bytes", "retention.hours", ""])
    func anUnknownTopicConfigIsRejectedByName(name: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try topicConfiguration([name: "1"]) }
        #expect(error.message.contains("unknown topic config '\(name)'"))
    }

    @Test(arguments: [
        ("retention.ms", "abc"), ("retention.ms", "-2"), ("segment.bytes", "1"), ("max.message.bytes", "-1"),
        ("cleanup.policy", "archive"), ("cleanup.policy", ""), ("message.timestamp.type", "logappendtime"),
        ("min.insync.replicas", "0"), ("min.insync.replicas", "two"),
    ])
    func anInvalidTopicConfigValueIsRejectedByName(name: String, value: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try topicConfiguration([name: value]) }
        #expect(error.message.contains(name), "\(error.message)")
    }

    @Test(arguments: ["gzip", "snappy", "lz4", "zstd", "uncompressed"])
    func compressionTypeOtherThanProducerIsRejected(codec: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try topicConfiguration(["compression.type": codec]) }
        #expect(error.message.contains("compression.type"))
    }

    @Test func minInsyncReplicasOverridesTheBrokerSetting() throws {
        let topic = try topicConfiguration(["min.insync.replicas": "1"], broker: [("min.insync.replicas", "3")])
        #expect(topic.minimumInSyncReplicas == 1)
        #expect(try topicConfiguration([:], broker: [("min.insync.replicas", "3")]).minimumInSyncReplicas == 3)
    }

    @Test func everyCatalogEntryIsATopicConfigTheBrokerApplies() throws {
        for entry in TopicConfigurationCatalog.entries {
            #expect(TopicConfigurationCatalog.entry(named: entry.name)?.brokerName == entry.brokerName)
            if entry.name != "min.insync.replicas" && entry.name != "compression.type" {
                #expect(LogConfiguration.topicConfigurationNames.contains(entry.name), "\(entry.name)")
            }
        }
        #expect(Set(LogConfiguration.topicConfigurationNames).isSubset(of: TopicConfigurationCatalog.entries.map(\.name)))
    }
}

/// Kafka's topic-name rules.
@Suite struct TopicNameTests {
    @Test(arguments: ["orders", "a", "Orders.v2", "under_score", "dash-ed", "0123456789", "...", ".hidden", "__consumer_offsets",
                      String(repeating: "x", count: 249)])
    func legalNamesHaveNoProblem(name: String) {
        #expect(TopicName.problem(with: name) == nil)
    }

    @Test(arguments: ["", ".", "..", String(repeating: "x", count: 250), "with space", "slash/ed", "colon:ed", "café", "tab\tbed",
                      "star*", "new\nline", "ümlaut"])
    func illegalNamesHaveAProblem(name: String) {
        #expect(TopicName.problem(with: name) != nil)
    }

    @Test func problemsSayWhatIsWrong() throws {
        #expect(try #require(TopicName.problem(with: "")).contains("empty"))
        #expect(try #require(TopicName.problem(with: "..")).contains("'..'"))
        #expect(try #require(TopicName.problem(with: String(repeating: "x", count: 250))).contains("249"))
        #expect(try #require(TopicName.problem(with: "a b")).contains("'a b'"))
    }
}

/// What the broker advertises in ApiVersions.
@Suite struct BrokerApiVersionsTests {
    @Test func everyAdvertisedVersionHasACodec() throws {
        for (apiKey, range) in BrokerApiVersions.advertised {
            let codec = try #require(ApiVersionTable.codecVersions(apiKey), "\(apiKey)")
            #expect(codec.contains(range.lowerBound) && codec.contains(range.upperBound), "\(apiKey) \(range) outside \(codec)")
        }
    }

    /// librdkafka ≤ 2.11 enables features by testing low versions (the KAFKA-18659 trap).
    @Test func everyRangeStartsAtZeroAndNoKeyIsListedTwice() {
        #expect(BrokerApiVersions.advertised.allSatisfy { $0.1.lowerBound == 0 })
        #expect(Set(BrokerApiVersions.advertised.map { $0.0.rawValue }).count == BrokerApiVersions.advertised.count)
    }

    @Test func theEntriesMatchTheAdvertisedRanges() {
        let entries = BrokerApiVersions.apiVersionsEntries
        #expect(entries.count == BrokerApiVersions.advertised.count)
        for entry in entries {
            #expect(BrokerApiVersions.range(entry.apiKey) == entry.minimumVersion...entry.maximumVersion)
        }
        #expect(BrokerApiVersions.range(.joinGroup) == 0...5)
        #expect(BrokerApiVersions.range(.saslHandshake) == nil)
        #expect(BrokerApiVersions.range(.apiVersions) == 0...2)
    }

    @Test func legacyMessageSetVersionsAreBelowTheImplementedMinimum() {
        #expect(BrokerApiVersions.implementedMinimum(.produce) == 3)
        #expect(BrokerApiVersions.implementedMinimum(.fetch) == 4)
        #expect(BrokerApiVersions.implementedMinimum(.metadata) == 0)
    }
}
