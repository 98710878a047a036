import NIOCore
import RillFormat
import RillProtocol

extension KafkaAdmin {
    /// A consumer group as its coordinator describes it.
    public struct GroupDescription: Sendable {
        public struct Member: Sendable {
            public var memberID: String
            public var groupInstanceID: String?
            public var clientID: String
            public var clientHost: String
            /// The partitions assigned to the member (decoded for protocol type "consumer").
            public var assignment: [TopicPartition]
        }

        public var groupID: String
        /// Empty, PreparingRebalance, CompletingRebalance, Stable or Dead.
        public var state: String
        public var protocolType: String
        /// The assignor in use (only while stable).
        public var protocolName: String
        public var members: [Member]
    }

    /// Every group the cluster's coordinators know, with its protocol type ("consumer" for
    /// consumer groups; "" for groups that only commit offsets).
    public func listGroups() async throws -> [(groupID: String, protocolType: String)] {
        let metadata = try await cluster.refreshMetadata(topics: [])
        var groups: [(groupID: String, protocolType: String)] = []
        for nodeID in metadata.brokers.keys.sorted() {
            let response = try await cluster.connection(to: nodeID).send(ListGroupsRequest(), timeout: cluster.configuration.requestTimeout)
            guard response.errorCode == .none else { throw KafkaClientError.broker(response.errorCode, "ListGroups on broker \(nodeID)") }
            groups += response.groups.map { ($0.groupID, $0.protocolType) }
        }
        return groups.sorted { $0.groupID < $1.groupID }
    }

    /// DescribeGroups, asked of each group's coordinator.
    public func describeGroups(_ groupIDs: [String]) async throws -> [GroupDescription] {
        var descriptions: [GroupDescription] = []
        for groupID in groupIDs {
            let connection = try await coordinator(of: groupID)
            let response = try await connection.send(DescribeGroupsRequest(groups: [groupID]), timeout: cluster.configuration.requestTimeout)
            for group in response.groups {
                guard group.errorCode == .none else { throw KafkaClientError.broker(group.errorCode, "describing group \(group.groupID)") }
                descriptions.append(GroupDescription(
                    groupID: group.groupID, state: group.groupState, protocolType: group.protocolType, protocolName: group.protocolData,
                    members: group.members.map { member in
                        // An assignment that does not decode is shown as none: describing must not fail for it.
                        let assignment = group.protocolType == "consumer" ? (try? KafkaConsumer.decodeAssignment(member.memberAssignment)) ?? [] : []
                        return .init(memberID: member.memberID, groupInstanceID: member.groupInstanceID, clientID: member.clientID,
                                     clientHost: member.clientHost, assignment: assignment.sorted())
                    }))
            }
        }
        return descriptions
    }

    /// The group's committed offsets: of `partitions`, or of every partition it committed.
    public func committedOffsets(group groupID: String, partitions: [TopicPartition]? = nil) async throws -> [TopicPartition: Offset] {
        let connection = try await coordinator(of: groupID)
        let response = try await connection.send(OffsetFetchRequest(groupID: groupID, partitions: partitions), timeout: cluster.configuration.requestTimeout)
        guard response.errorCode == .none else { throw KafkaClientError.broker(response.errorCode, "fetching the offsets of group \(groupID)") }
        var offsets: [TopicPartition: Offset] = [:]
        for topic in response.topics {
            for partition in topic.partitions where partition.errorCode == .none && partition.committedOffset.rawValue >= 0 {
                offsets[TopicPartition(topic.name, partition.partition)] = partition.committedOffset
            }
        }
        return offsets
    }

    /// The connection to `groupID`'s coordinator (FindCoordinator, then that broker).
    func coordinator(of groupID: String) async throws -> BrokerConnection {
        let response = try await cluster.anyConnection().send(FindCoordinatorRequest(key: groupID), timeout: cluster.configuration.requestTimeout)
        guard response.errorCode == .none else { throw KafkaClientError.broker(response.errorCode, "finding the coordinator of group \(groupID)") }
        if cluster.metadataSnapshot.brokers[response.nodeID] == nil { try await cluster.refreshMetadata(topics: []) }
        return try await cluster.connection(to: response.nodeID)
    }
}

extension OffsetFetchRequest {
    /// OffsetFetch for `partitions` grouped by topic (topics and partitions sorted), or, when
    /// nil, for every partition the group committed. Shared by the admin client and the
    /// consumer's coordinator.
    init(groupID: String, partitions: [TopicPartition]?) {
        let topics = partitions.map { partitions in
            Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }.map {
                OffsetFetchRequest.Topic(name: $0.key, partitions: $0.value.map(\.partition).sorted())
            }
        }
        self.init(groupID: groupID, topics: topics)
    }
}
