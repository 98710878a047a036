import RillProtocol

/// The API versions this broker advertises (kafka-protocol.md §3.5): every range starts at 0,
/// because librdkafka ≤ 2.11 enables features by testing single low versions (the KAFKA-18659
/// trap); versions below `implementedMinimum` are answered with a correctly shaped error.
public enum BrokerApiVersions {
    public static let advertised: [(ApiKey, ClosedRange<Int16>)] = [
        (.produce, 0...8),
        (.fetch, 0...11),
        (.listOffsets, 0...5),
        (.metadata, 0...8),
        (.offsetCommit, 0...7),
        (.offsetFetch, 0...5),
        // FindCoordinator v0 must be listed for librdkafka ≤ 2.11 to enable LZ4 at all.
        (.findCoordinator, 0...2),
        (.joinGroup, 0...5),
        (.heartbeat, 0...3),
        (.leaveGroup, 0...3),
        (.syncGroup, 0...3),
        (.describeGroups, 0...4),
        (.listGroups, 0...2),
        (.apiVersions, 0...2),
        (.createTopics, 0...4),
        (.deleteTopics, 0...3),
        (.deleteRecords, 0...1),
        (.initProducerId, 0...1),
        (.offsetForLeaderEpoch, 0...3),
        (.describeConfigs, 0...3),
    ]

    /// The Produce version internal appends (the offsets topic) validate as: the newest advertised.
    static let latestProduceVersion: Int16 = range(.produce)!.upperBound

    public static func range(_ apiKey: ApiKey) -> ClosedRange<Int16>? {
        advertised.first { $0.0 == apiKey }?.1
    }

    public static var apiVersionsEntries: [ApiVersionsResponse.ApiVersion] {
        advertised.map { .init(apiKey: $0.0, minimumVersion: $0.1.lowerBound, maximumVersion: $0.1.upperBound) }
    }

    /// Produce below v3 and Fetch below v4 carry legacy message sets, which this broker does not
    /// store or serve.
    public static func implementedMinimum(_ apiKey: ApiKey) -> Int16 {
        switch apiKey {
        case .produce: 3
        case .fetch: 4
        default: 0
        }
    }
}
