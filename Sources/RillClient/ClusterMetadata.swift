import RillFormat
import RillProtocol

/// What the client knows about the cluster: brokers and, per topic, each partition's leader.
public struct ClusterMetadata: Sendable {
    public struct Broker: Hashable, Sendable {
        public var nodeID: Int32
        public var host: String
        public var port: Int
    }

    public struct PartitionInfo: Hashable, Sendable {
        public var partition: Int32
        public var leader: Int32
        public var leaderEpoch: LeaderEpoch
        public var errorCode: ErrorCode
    }

    public struct TopicInfo: Hashable, Sendable {
        public var name: String
        public var errorCode: ErrorCode
        public var partitions: [PartitionInfo]
        public var partitionCount: Int { partitions.count }
    }

    public var clusterID: String?
    public var controllerID: Int32
    public var brokers: [Int32: Broker] = [:]
    public var topics: [String: TopicInfo] = [:]

    public init(clusterID: String? = nil, controllerID: Int32 = -1) {
        self.clusterID = clusterID
        self.controllerID = controllerID
    }

    /// Merges a Metadata response. Topics it does not mention are kept, unless it answered a
    /// request for every topic (`isComplete`): then a topic it does not mention no longer exists.
    mutating func merge(_ response: MetadataResponse, isComplete: Bool = false) {
        if isComplete { topics = [:] }
        clusterID = response.clusterID
        controllerID = response.controllerID
        brokers = Dictionary(response.brokers.map { ($0.nodeID, Broker(nodeID: $0.nodeID, host: $0.host, port: Int($0.port))) }, uniquingKeysWith: { $1 })
        for topic in response.topics {
            topics[topic.name] = TopicInfo(
                name: topic.name, errorCode: topic.errorCode,
                partitions: topic.partitions.sorted { $0.partition < $1.partition }.map {
                    PartitionInfo(partition: $0.partition, leader: $0.leaderID, leaderEpoch: $0.leaderEpoch, errorCode: $0.errorCode)
                })
        }
    }

    public func leader(of topic: String, partition: Int32) -> Int32? {
        guard let info = topics[topic]?.partitions.first(where: { $0.partition == partition }), info.leader >= 0 else { return nil }
        return info.leader
    }
}
