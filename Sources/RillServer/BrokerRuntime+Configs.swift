import RillBroker
import RillProtocol

extension BrokerRuntime {
    /// DescribeConfigs for topics (every topic config with its value and where it came from) and
    /// for this broker (the settings it was started with).
    func describeConfigs(_ request: DescribeConfigsRequest, header: RequestHeader) -> ResponsePayload {
        let image = controlPlane.image
        let results = request.resources.map { resource -> DescribeConfigsResponse.Result in
            switch resource.resourceType {
            case .topic:
                guard let topic = image.topics[resource.resourceName] else {
                    return .init(errorCode: .unknownTopicOrPartition, errorMessage: "topic '\(resource.resourceName)' does not exist",
                                 resourceType: .topic, resourceName: resource.resourceName, configs: [])
                }
                let configs = TopicConfigurationCatalog.entries
                    .filter { resource.configurationKeys?.contains($0.name) ?? true }
                    .map { topicConfig($0, topic: topic, includeSynonyms: request.includeSynonyms) }
                return .init(resourceType: .topic, resourceName: resource.resourceName, configs: configs)
            case .broker:
                guard resource.resourceName.isEmpty || resource.resourceName == String(configuration.nodeID) else {
                    return .init(errorCode: .invalidRequest, errorMessage: "this is broker \(configuration.nodeID), not \(resource.resourceName)",
                                 resourceType: .broker, resourceName: resource.resourceName, configs: [])
                }
                let configs = brokerConfigs().filter { resource.configurationKeys?.contains($0.name) ?? true }
                return .init(resourceType: .broker, resourceName: resource.resourceName, configs: configs)
            default:
                return .init(errorCode: .invalidRequest, errorMessage: "resource type \(resource.resourceType.rawValue) is not supported",
                             resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [])
            }
        }
        return respond(DescribeConfigsResponse(results: results), to: header)
    }

    private func topicConfig(_ entry: TopicConfigurationCatalog.Entry, topic: TopicImage, includeSynonyms: Bool) -> DescribeConfigsResponse.Config {
        let broker = configuration.brokerValue(forTopicConfig: entry.name)
        let override = topic.record.overrides[entry.name]
        let source: ConfigSource = override != nil ? .topicConfig : (broker.isExplicit ? .staticBrokerConfig : .defaultConfig)
        var synonyms: [DescribeConfigsResponse.Synonym] = []
        if includeSynonyms {
            if let override { synonyms.append(.init(name: entry.name, value: override, source: .topicConfig)) }
            if broker.isExplicit { synonyms.append(.init(name: entry.brokerName, value: broker.value, source: .staticBrokerConfig)) }
            synonyms.append(.init(name: entry.brokerName, value: TopicConfiguration.make(defaults: BrokerConfiguration()).value(of: entry.name), source: .defaultConfig))
        }
        return DescribeConfigsResponse.Config(
            name: entry.name, value: topic.configuration.value(of: entry.name), isReadOnly: false,
            isDefault: source == .defaultConfig, source: source, isSensitive: false, synonyms: synonyms,
            configType: ConfigType(rawValue: entry.type.rawValue), documentation: nil)
    }

    private func brokerConfigs() -> [DescribeConfigsResponse.Config] {
        let (host, port) = advertisedAddress
        var values: [(String, String)] = [
            ("node.id", String(configuration.nodeID)),
            ("listeners", "PLAINTEXT://\(configuration.listenHost):\(configuration.listenPort)"),
            ("advertised.listeners", "PLAINTEXT://\(host):\(port)"),
            ("log.dirs", configuration.dataDirectory),
            ("num.partitions", String(configuration.defaultPartitionCount)),
            ("default.replication.factor", String(configuration.defaultReplicationFactor)),
            ("auto.create.topics.enable", String(configuration.isAutoTopicCreationEnabled)),
            ("delete.topic.enable", String(configuration.isTopicDeletionEnabled)),
            ("socket.request.max.bytes", String(configuration.maximumRequestBytes)),
        ]
        for entry in TopicConfigurationCatalog.entries {
            values.append((entry.brokerName, configuration.brokerValue(forTopicConfig: entry.name).value ?? ""))
        }
        return values.map { name, value in
            let isExplicit = configuration.explicitlySet[name] != nil
            return DescribeConfigsResponse.Config(
                name: name, value: value, isReadOnly: true, isDefault: !isExplicit,
                source: isExplicit ? .staticBrokerConfig : .defaultConfig, isSensitive: false, synonyms: [],
                configType: .string, documentation: nil)
        }
    }
}

extension TopicConfiguration {
    /// Kafka's built-in defaults (no broker overrides), for DescribeConfigs synonyms.
    static func make(defaults: BrokerConfiguration) -> TopicConfiguration {
        TopicConfiguration(log: defaults.logDefaults, minimumInSyncReplicas: defaults.minimumInSyncReplicas)
    }
}
