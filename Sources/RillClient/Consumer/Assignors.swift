import RillProtocol

/// One group member as the leader's assignor sees it.
public struct AssignorMember: Hashable, Sendable {
    public var memberID: String
    public var groupInstanceID: String?
    /// The topics it subscribes to.
    public var topics: Set<String>
    /// What it owned in `generation` (cooperative rebalancing; empty for eager members).
    public var ownedPartitions: [TopicPartition]
    public var generation: Int32

    public init(memberID: String, groupInstanceID: String? = nil, topics: Set<String>, ownedPartitions: [TopicPartition] = [], generation: Int32 = -1) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.topics = topics
        self.ownedPartitions = ownedPartitions
        self.generation = generation
    }

    /// Kafka's member order (`MemberInfo.compareTo`): static members first by instance id,
    /// then dynamic members by member id. Range and round-robin depend on it to agree with
    /// other clients' leaders.
    static func kafkaOrder(_ left: AssignorMember, _ right: AssignorMember) -> Bool {
        switch (left.groupInstanceID, right.groupInstanceID) {
        case (let l?, let r?): l < r
        case (.some, .none): true
        case (.none, .some): false
        case (.none, .none): left.memberID < right.memberID
        }
    }
}

/// A client-side partition assignor (the group leader runs it; the broker never looks inside).
public protocol PartitionAssignor: Sendable {
    /// The protocol name members advertise in JoinGroup ("range", "roundrobin", …).
    var name: String { get }
    /// Whether partitions may move in two steps (KIP-429) instead of being revoked all at once.
    var supportsCooperativeRebalancing: Bool { get }
    /// The assignment: every member id (also those that get nothing) → its partitions.
    /// `partitionCounts` has each subscribed topic's partition count; unknown topics are skipped.
    func assign(members: [AssignorMember], partitionCounts: [String: Int32]) -> [String: [TopicPartition]]
}

/// Kafka's `range` assignor: per topic, members in Kafka's order take consecutive ranges; the
/// first `partitions % members` take one extra.
public struct RangeAssignor: PartitionAssignor {
    public let name = "range"
    public let supportsCooperativeRebalancing = false
    public init() {}

    public func assign(members: [AssignorMember], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        var assignment = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, [TopicPartition]()) })
        for topic in partitionCounts.keys.sorted() {
            let count = Int(partitionCounts[topic]!)
            let consumers = members.filter { $0.topics.contains(topic) }.sorted(by: AssignorMember.kafkaOrder)
            guard !consumers.isEmpty else { continue }
            let perConsumer = count / consumers.count
            let withExtra = count % consumers.count
            for (index, consumer) in consumers.enumerated() {
                let start = perConsumer * index + min(index, withExtra)
                let length = perConsumer + (index < withExtra ? 1 : 0)
                assignment[consumer.memberID]!.append(contentsOf: (start..<start + length).map { TopicPartition(topic, Int32($0)) })
            }
        }
        return assignment
    }
}

/// Kafka's `roundrobin` assignor: all partitions sorted by topic and index, dealt in turn to
/// members in Kafka's order, skipping members not subscribed to a partition's topic.
public struct RoundRobinAssignor: PartitionAssignor {
    public let name = "roundrobin"
    public let supportsCooperativeRebalancing = false
    public init() {}

    public func assign(members: [AssignorMember], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        var assignment = Dictionary(uniqueKeysWithValues: members.map { ($0.memberID, [TopicPartition]()) })
        let ordered = members.sorted(by: AssignorMember.kafkaOrder)
        guard !ordered.isEmpty else { return assignment }
        var next = 0
        for topic in partitionCounts.keys.sorted() where ordered.contains(where: { $0.topics.contains(topic) }) {
            for partition in 0..<partitionCounts[topic]! {
                while !ordered[next % ordered.count].topics.contains(topic) { next += 1 }
                assignment[ordered[next % ordered.count].memberID]!.append(TopicPartition(topic, partition))
                next += 1
            }
        }
        return assignment
    }
}

/// `cooperative-sticky`: members keep what they own as far as balance allows (at most one
/// partition more than any other member able to take it), the rest go to the least loaded
/// subscribed member; and a partition changing owner is first left unassigned, so its old
/// owner revokes it and rejoins, and only the next rebalance gives it to the new owner
/// (KIP-429). Members whose owned partitions overlap are resolved by the newer generation.
public struct CooperativeStickyAssignor: PartitionAssignor {
    public let name = "cooperative-sticky"
    public let supportsCooperativeRebalancing = true
    public init() {}

    public func assign(members: [AssignorMember], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        let ordered = members.sorted(by: AssignorMember.kafkaOrder)
        var assignment = Dictionary(uniqueKeysWithValues: ordered.map { ($0.memberID, [TopicPartition]()) })
        guard !ordered.isEmpty else { return assignment }
        let all = partitionCounts.keys.sorted().flatMap { topic in
            ordered.contains { $0.topics.contains(topic) } ? (0..<partitionCounts[topic]!).map { TopicPartition(topic, $0) } : []
        }
        let valid = Set(all)

        // The previous owner of each partition: the member claiming it in the newest generation.
        var previousOwner: [TopicPartition: (memberID: String, generation: Int32)] = [:]
        for member in ordered {
            for partition in member.ownedPartitions where valid.contains(partition) && member.topics.contains(partition.topic) {
                if let claim = previousOwner[partition], claim.generation >= member.generation { continue }
                previousOwner[partition] = (member.memberID, member.generation)
            }
        }

        // Balance quotas over the partitions members may take: floor and ceiling of the mean.
        let minimum = all.count / ordered.count
        var ceilingsLeft = all.count % ordered.count
        // Keep owned partitions, up to the quota.
        for member in ordered {
            let kept = previousOwner.filter { $0.value.memberID == member.memberID }.keys.sorted()
            var quota = minimum
            if kept.count > minimum && ceilingsLeft > 0 {
                quota += 1
                ceilingsLeft -= 1
            }
            assignment[member.memberID]!.append(contentsOf: kept.prefix(quota))
        }
        // Deal the rest to the least loaded subscribed member.
        let taken = Set(assignment.values.joined())
        for partition in all where !taken.contains(partition) {
            let candidates = ordered.filter { $0.topics.contains(partition.topic) }
            guard let target = candidates.min(by: { assignment[$0.memberID]!.count < assignment[$1.memberID]!.count }) else { continue }
            assignment[target.memberID]!.append(partition)
        }
        // Two-step moves: a partition another member still owns is not handed over yet.
        for (memberID, partitions) in assignment {
            assignment[memberID] = partitions.filter { partition in
                guard let owner = previousOwner[partition]?.memberID else { return true }
                return owner == memberID
            }.sorted()
        }
        return assignment
    }
}

/// The assignors this client knows, by Kafka's names (and the Java class names).
public enum PartitionAssignors {
    public static func named(_ name: String) -> (any PartitionAssignor)? {
        switch name.trimmingCharacters(in: " ") {
        case "range", "org.apache.kafka.clients.consumer.RangeAssignor": RangeAssignor()
        case "roundrobin", "org.apache.kafka.clients.consumer.RoundRobinAssignor": RoundRobinAssignor()
        case "cooperative-sticky", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor": CooperativeStickyAssignor()
        default: nil
        }
    }
}
