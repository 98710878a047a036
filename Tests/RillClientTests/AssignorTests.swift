import RillFormat
import RillProtocol
import Testing
@testable import RillClient

/// The partition assignors a group leader runs. Range and round-robin must match Kafka's (and
/// librdkafka's) exactly, so that a group with mixed clients gets the same assignment whoever
/// leads; cooperative-sticky must keep partitions where they are and move them in two steps.
@Suite struct AssignorTests {
    static func member(_ id: String, _ topics: Set<String>, instance: String? = nil, owned: [TopicPartition] = [], generation: Int32 = -1) -> AssignorMember {
        AssignorMember(memberID: id, groupInstanceID: instance, topics: topics, ownedPartitions: owned, generation: generation)
    }

    static func partitions(_ topic: String, _ indexes: Int32...) -> [TopicPartition] {
        indexes.map { TopicPartition(topic, $0) }
    }

    // MARK: Range

    @Test("range: consecutive ranges per topic, the first members take the extra partitions")
    func rangeMatchesKafka() {
        // Kafka's RangeAssignorTest: 2 consumers, 2 topics of 3 partitions.
        let members = [Self.member("consumer-b", ["t1", "t2"]), Self.member("consumer-a", ["t1", "t2"])]
        let assignment = RangeAssignor().assign(members: members, partitionCounts: ["t1": 3, "t2": 3])
        #expect(assignment["consumer-a"] == Self.partitions("t1", 0, 1) + Self.partitions("t2", 0, 1))
        #expect(assignment["consumer-b"] == Self.partitions("t1", 2) + Self.partitions("t2", 2))
    }

    @Test("range: only subscribers of a topic share it; a member with nothing gets an empty list")
    func rangeHonoursSubscriptions() {
        let members = [Self.member("a", ["t1"]), Self.member("b", ["t1", "t2"]), Self.member("c", ["t3"])]
        let assignment = RangeAssignor().assign(members: members, partitionCounts: ["t1": 5, "t2": 2])
        #expect(assignment["a"] == Self.partitions("t1", 0, 1, 2))
        #expect(assignment["b"] == Self.partitions("t1", 3, 4) + Self.partitions("t2", 0, 1))
        #expect(assignment["c"] == [])
    }

    @Test("static members come first, ordered by instance id (Kafka's MemberInfo order)")
    func staticMembersOrderFirst() {
        let members = [Self.member("a-dynamic", ["t"]), Self.member("z-static", ["t"], instance: "pod-2"), Self.member("y-static", ["t"], instance: "pod-1")]
        let assignment = RangeAssignor().assign(members: members, partitionCounts: ["t": 3])
        #expect(assignment["y-static"] == Self.partitions("t", 0))
        #expect(assignment["z-static"] == Self.partitions("t", 1))
        #expect(assignment["a-dynamic"] == Self.partitions("t", 2))
    }

    // MARK: Round-robin

    @Test("roundrobin: partitions sorted by topic and index, dealt in member order")
    func roundRobinMatchesKafka() {
        // Kafka's RoundRobinAssignorTest: 2 consumers, 2 topics of 3 partitions.
        let members = [Self.member("consumer-a", ["t1", "t2"]), Self.member("consumer-b", ["t1", "t2"])]
        let assignment = RoundRobinAssignor().assign(members: members, partitionCounts: ["t1": 3, "t2": 3])
        #expect(assignment["consumer-a"] == [TopicPartition("t1", 0), TopicPartition("t1", 2), TopicPartition("t2", 1)])
        #expect(assignment["consumer-b"] == [TopicPartition("t1", 1), TopicPartition("t2", 0), TopicPartition("t2", 2)])
    }

    @Test("roundrobin: members not subscribed to a topic are skipped")
    func roundRobinSkipsNonSubscribers() {
        let members = [Self.member("a", ["t1"]), Self.member("b", ["t1", "t2"]), Self.member("c", ["t1"])]
        let assignment = RoundRobinAssignor().assign(members: members, partitionCounts: ["t1": 3, "t2": 2])
        #expect(assignment["a"] == Self.partitions("t1", 0))
        #expect(assignment["b"] == Self.partitions("t1", 1) + Self.partitions("t2", 0, 1))
        #expect(assignment["c"] == Self.partitions("t1", 2))
    }

    // MARK: Cooperative sticky

    @Test("cooperative-sticky: a new member gets partitions only after their owner gave them up")
    func cooperativeStickyMovesInTwoSteps() {
        let assignor = CooperativeStickyAssignor()
        let all = Self.partitions("t", 0, 1, 2, 3, 4, 5)
        // Round 1: "a" owns everything; "b" joins.
        var assignment = assignor.assign(members: [Self.member("a", ["t"], owned: all, generation: 4), Self.member("b", ["t"])], partitionCounts: ["t": 6])
        #expect(assignment["a"] == Self.partitions("t", 0, 1, 2), "a keeps what balance allows")
        #expect(assignment["b"] == [], "nothing is handed over while a still owns it")
        // Round 2: a revoked 3, 4, 5 and rejoined; now b gets them.
        assignment = assignor.assign(members: [Self.member("a", ["t"], owned: assignment["a"]!, generation: 5), Self.member("b", ["t"], generation: 5)],
                                     partitionCounts: ["t": 6])
        #expect(assignment["a"] == Self.partitions("t", 0, 1, 2))
        #expect(assignment["b"] == Self.partitions("t", 3, 4, 5))
    }

    @Test("cooperative-sticky: a claim from an older generation loses to a newer one")
    func cooperativeStickyResolvesConflictingClaims() {
        let members = [
            Self.member("a", ["t"], owned: Self.partitions("t", 0, 1), generation: 3),
            Self.member("b", ["t"], owned: Self.partitions("t", 1, 2), generation: 5),
        ]
        let assignment = CooperativeStickyAssignor().assign(members: members, partitionCounts: ["t": 4])
        #expect(assignment["b"]!.contains(TopicPartition("t", 1)))
        #expect(!assignment["a"]!.contains(TopicPartition("t", 1)))
    }

    /// Random groups: whatever they owned, one round assigns each partition at most once and
    /// only to subscribers; repeating rounds (owners revoke what they lost) converges to every
    /// partition assigned and counts within one of each other for a shared subscription.
    @Test(arguments: 0..<200) func cooperativeStickyConvergesToABalancedAssignment(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let topics = ["t1", "t2", "t3"]
        var counts: [String: Int32] = [:]
        for topic in topics { counts[topic] = Int32.random(in: 1...9, using: &random) }
        let memberCount = Int.random(in: 1...6, using: &random)
        let subscription = Set(topics.prefix(Int.random(in: 1...3, using: &random)))
        let all = subscription.sorted().flatMap { topic in (0..<counts[topic]!).map { TopicPartition(topic, $0) } }
        // Start from a random (possibly conflicting) ownership.
        var owned: [String: [TopicPartition]] = [:]
        for index in 0..<memberCount { owned["m\(index)"] = all.filter { _ in Int.random(in: 0..<3, using: &random) == 0 } }
        var generation: Int32 = 1
        var converged = false
        for _ in 0..<10 {
            let members = (0..<memberCount).map { Self.member("m\($0)", subscription, owned: owned["m\($0)"]!, generation: generation) }
            let assignment = CooperativeStickyAssignor().assign(members: members, partitionCounts: counts)
            let given = assignment.values.flatMap { $0 }
            #expect(Set(given).count == given.count, "a partition assigned twice")
            #expect(given.allSatisfy { subscription.contains($0.topic) })
            let revoked = members.contains { member in !Set(member.ownedPartitions).isSubset(of: Set(assignment[member.memberID]!)) }
            owned = assignment
            generation += 1
            if !revoked {
                converged = true
                break
            }
        }
        #expect(converged)
        let final = owned.values.flatMap { $0 }
        #expect(Set(final) == Set(all), "every partition assigned once converged")
        let sizes = owned.values.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1, "balanced: \(sizes)")
    }

    @Test("Kafka's strategy names and Java class names resolve; unknown names are refused")
    func assignorsByName() throws {
        #expect(PartitionAssignors.named("range")?.name == "range")
        #expect(PartitionAssignors.named("org.apache.kafka.clients.consumer.RoundRobinAssignor")?.name == "roundrobin")
        #expect(PartitionAssignors.named("cooperative-sticky")?.supportsCooperativeRebalancing == true)
        #expect(PartitionAssignors.named("sticky") == nil)
        let configuration = try ConsumerConfiguration(properties: ["bootstrap.servers": "127.0.0.1:9092", "partition.assignment.strategy": "roundrobin, range"])
        #expect(configuration.assignors.map(\.name) == ["roundrobin", "range"])
        #expect(throws: KafkaClientError.self) {
            try ConsumerConfiguration(properties: ["bootstrap.servers": "127.0.0.1:9092", "partition.assignment.strategy": "sticky"])
        }
    }

    @Test("group properties under Kafka's names")
    func groupProperties() throws {
        let configuration = try ConsumerConfiguration(properties: [
            "bootstrap.servers": "127.0.0.1:9092", "group.id": "g", "group.instance.id": "pod-1", "session.timeout.ms": "10000",
            "heartbeat.interval.ms": "1000", "max.poll.interval.ms": "60000", "enable.auto.commit": "false", "auto.commit.interval.ms": "250",
        ])
        #expect(configuration.groupID == "g")
        #expect(configuration.groupInstanceID == "pod-1")
        #expect(configuration.sessionTimeoutMilliseconds == 10_000)
        #expect(configuration.heartbeatIntervalMilliseconds == 1_000)
        #expect(configuration.maximumPollIntervalMilliseconds == 60_000)
        #expect(configuration.enablesAutoCommit == false)
        #expect(configuration.autoCommitIntervalMilliseconds == 250)
    }

    @Test("subscribe needs a group id and a heartbeat below the session timeout")
    func subscribeValidation() async throws {
        let plain = KafkaConsumer(configuration: try ConsumerConfiguration(properties: ["bootstrap.servers": "127.0.0.1:9"]))
        #expect(throws: KafkaClientError.self) { try plain.subscribe(topics: ["t"]) }
        await plain.close()
        let badHeartbeat = KafkaConsumer(configuration: try ConsumerConfiguration(properties: [
            "bootstrap.servers": "127.0.0.1:9", "group.id": "g", "session.timeout.ms": "6000", "heartbeat.interval.ms": "6000",
        ]))
        #expect(throws: KafkaClientError.self) { try badHeartbeat.subscribe(topics: ["t"]) }
        #expect(throws: KafkaClientError.self) { try badHeartbeat.subscribe(pattern: "([") }
        await badHeartbeat.close()
    }
}
