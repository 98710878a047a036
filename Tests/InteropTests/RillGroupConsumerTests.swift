import Foundation
import NIOCore
import RillClient
import RillFormat
import RillProtocol
import Synchronization
import Testing

/// A Rill consumer in a group, polling in the background, with every listener call and every
/// record it returned, in order.
final class GroupMemberUnderTest: Sendable {
    enum Event: Sendable, Equatable {
        case assigned([TopicPartition])
        case revoked([TopicPartition])
        case lost([TopicPartition])
        case record(TopicPartition, Int64)
    }

    struct Listener: ConsumerRebalanceListener {
        let member: GroupMemberUnderTest
        let onAssigned: @Sendable ([TopicPartition], KafkaConsumer) async -> Void

        func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
            member.events.withLock { $0.append(.assigned(partitions)) }
            await onAssigned(partitions, consumer)
        }
        func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
            member.events.withLock { $0.append(.revoked(partitions)) }
        }
        func partitionsLost(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
            member.events.withLock { $0.append(.lost(partitions)) }
        }
    }

    let consumer: KafkaConsumer
    let events = Mutex<[Event]>([])
    let failure = Mutex<(any Error)?>(nil)
    private let loop = Mutex<Task<Void, Never>?>(nil)

    init(_ broker: BrokerProcess, group: String, _ extra: [String: String] = [:]) throws {
        let properties = RillClients.properties(broker, [
            "group.id": group, "auto.offset.reset": "earliest", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
            "client.id": "rill-member",
        ].merging(extra) { $1 })
        consumer = KafkaConsumer(configuration: try ConsumerConfiguration(properties: properties))
    }

    /// Subscribes and starts polling in the background.
    func start(topics: [String]? = nil, pattern: String? = nil,
               onAssigned: @escaping @Sendable ([TopicPartition], KafkaConsumer) async -> Void = { _, _ in }) throws {
        let listener = Listener(member: self, onAssigned: onAssigned)
        if let pattern { try consumer.subscribe(pattern: pattern, listener: listener) } else { try consumer.subscribe(topics: topics ?? [], listener: listener) }
        let consumer = self.consumer
        loop.withLock { $0 = Task {
            while !Task.isCancelled {
                do {
                    let records = try await consumer.poll(timeout: .milliseconds(200))
                    self.events.withLock { events in events += records.map { .record($0.topicPartition, $0.offset.rawValue) } }
                } catch is CancellationError {
                    return
                } catch {
                    self.failure.withLock { $0 = error }
                    return
                }
            }
        } }
    }

    /// Stops polling and closes the consumer (which commits, revokes and leaves).
    func stop() async {
        let task = loop.withLock { $0 }
        task?.cancel()
        await task?.value
        await consumer.close()
    }

    var records: [(TopicPartition, Int64)] {
        events.withLock { $0.compactMap { if case .record(let partition, let offset) = $0 { (partition, offset) } else { nil } } }
    }

    /// The partitions assigned at the end of the latest rebalance (eager: the whole set).
    var lastAssigned: [TopicPartition]? {
        events.withLock { $0.reversed().lazy.compactMap { if case .assigned(let partitions) = $0 { partitions } else { nil } }.first }
    }

    /// Waits until `condition` holds (polling every 50 ms) or `timeout` passes.
    static func eventually(timeout: Duration = .seconds(20), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }
}

extension InteropTests {
    /// Rill's consumer in consumer groups against a `rill broker` process: subscribe, the
    /// rebalance listener, commits, pattern subscriptions, cooperative and static membership.
    @Suite struct RillGroupConsumerTests {
        static let overrides = ["group.initial.rebalance.delay.ms=0"]

        static func seed(_ broker: BrokerProcess, topic: String, partitions: Int32, perPartition: Int, from start: Int = 0) async throws {
            try await RillClientAPITests.seed(broker, topic: topic, partitions: Array(0..<partitions), from: start, count: perPartition)
        }

        static func createTopic(_ broker: BrokerProcess, _ name: String, partitions: Int32) async throws {
            try await RillClients.withAdmin(broker) { try await $0.createTopic(.init(name: name, partitionCount: partitions, replicationFactor: 1)) }
        }

        @Test("two Rill members split a topic; every record is read once; the survivor takes over when the other closes")
        func twoMembersShareAndHandOver() async throws {
            try await BrokerProcess.with(overrides: Self.overrides) { broker in
                let topic = "shared"
                try await Self.createTopic(broker, topic, partitions: 4)
                try await Self.seed(broker, topic: topic, partitions: 4, perPartition: 50)
                let first = try GroupMemberUnderTest(broker, group: "split")
                let second = try GroupMemberUnderTest(broker, group: "split")
                try first.start(topics: [topic])
                #expect(await GroupMemberUnderTest.eventually { first.lastAssigned?.count == 4 })
                try second.start(topics: [topic])
                let split = await GroupMemberUnderTest.eventually {
                    first.lastAssigned?.count == 2 && second.lastAssigned?.count == 2 && first.consumer.assignment.count == 2 && second.consumer.assignment.count == 2
                }
                #expect(split, "assignments: \(first.consumer.assignment) / \(second.consumer.assignment)")
                #expect(Set(first.consumer.assignment).isDisjoint(with: second.consumer.assignment))
                // Range over sorted member ids: consecutive halves.
                #expect(Set(first.consumer.assignment + second.consumer.assignment).count == 4)

                try await Self.seed(broker, topic: topic, partitions: 4, perPartition: 50, from: 50)
                #expect(await GroupMemberUnderTest.eventually { first.records.count + second.records.count >= 400 })
                await first.stop()
                #expect(await GroupMemberUnderTest.eventually(timeout: .seconds(5)) { second.consumer.assignment.count == 4 },
                        "the leaving member's partitions move at once (LeaveGroup), not after the session timeout")
                try await Self.seed(broker, topic: topic, partitions: 4, perPartition: 50, from: 100)
                #expect(await GroupMemberUnderTest.eventually { first.records.count + second.records.count >= 600 })
                await second.stop()
                #expect(first.failure.withLock { $0 } == nil && second.failure.withLock { $0 } == nil)

                let all = first.records + second.records
                #expect(all.count == 600, "every record once: \(all.count)")
                #expect(Set(all.map { "\($0.0)@\($0.1)" }).count == 600)
                // The listener ran before any record of a newly assigned partition was returned.
                for member in [first, second] {
                    var owned: Set<TopicPartition> = []
                    for event in member.events.withLock({ $0 }) {
                        switch event {
                        case .assigned(let partitions): owned = Set(partitions)
                        case .revoked, .lost: owned = []
                        case .record(let partition, _): #expect(owned.contains(partition), "record of \(partition) outside the assignment")
                        }
                    }
                }
            }
        }

        @Test("commitSync, commitAsync in order, committed(), and a new member starting at the committed offsets")
        func commitsAndCommitted() async throws {
            try await BrokerProcess.with(overrides: Self.overrides) { broker in
                let topic = "commits"
                let partition = TopicPartition(topic, 0)
                try await Self.createTopic(broker, topic, partitions: 1)
                try await Self.seed(broker, topic: topic, partitions: 1, perPartition: 30)
                try await RillClients.withConsumer(broker, ["group.id": "manual", "enable.auto.commit": "false", "auto.offset.reset": "earliest"]) { consumer in
                    #expect(try await consumer.committed([partition]).isEmpty)
                    consumer.assign([partition])
                    #expect(try await RillClients.poll(consumer, count: 30).count == 30)
                    try await consumer.commitSync()
                    #expect(try await consumer.committed([partition]) == [partition: Offset(30)])
                    try await consumer.commitSync([partition: Offset(10)], metadata: "checkpoint")
                    #expect(try await consumer.committed([partition]) == [partition: Offset(10)])
                    let outcomes = Mutex<[Int]>([])
                    for offset in [12, 15, 19] {
                        consumer.commitAsync([partition: Offset(Int64(offset))]) { result in
                            if case .success = result { outcomes.withLock { $0.append(offset) } }
                        }
                    }
                    #expect(await GroupMemberUnderTest.eventually { outcomes.withLock { $0.count } == 3 })
                    #expect(outcomes.withLock { $0 } == [12, 15, 19], "async commits complete in the order asked")
                    #expect(try await consumer.committed([partition]) == [partition: Offset(19)])
                }
                // A new consumer of the group starts where the group committed.
                try await RillClients.withConsumer(broker, ["group.id": "manual", "enable.auto.commit": "false"]) { (consumer: KafkaConsumer) async throws in
                    consumer.assign([partition])
                    #expect(try await consumer.position(partition) == Offset(19))
                    #expect(try await RillClients.poll(consumer, count: 11).first?.offset == Offset(19))
                }
                // Auto-commit commits what earlier polls returned, while the member runs.
                let member = try GroupMemberUnderTest(broker, group: "auto", ["auto.commit.interval.ms": "200"])
                try member.start(topics: [topic])
                #expect(await GroupMemberUnderTest.eventually { member.records.count == 30 })
                let autoCommitted = await GroupMemberUnderTest.eventually {
                    (try? await member.consumer.committed([partition])) == [partition: Offset(30)]
                }
                #expect(autoCommitted)
                await member.stop()
            }
        }

        @Test("a listener that seeks to offsets stored outside the broker wins over the group's committed offsets")
        func listenerSeeksToExternalOffsets() async throws {
            try await BrokerProcess.with(overrides: Self.overrides) { broker in
                let topic = "external"
                try await Self.createTopic(broker, topic, partitions: 2)
                try await Self.seed(broker, topic: topic, partitions: 2, perPartition: 40)
                try await RillClients.withConsumer(broker, ["group.id": "ext", "enable.auto.commit": "false"]) { consumer in
                    try await consumer.commitSync([TopicPartition(topic, 0): Offset(25), TopicPartition(topic, 1): Offset(25)])
                }
                let externalStore: [TopicPartition: Offset] = [TopicPartition(topic, 0): Offset(17), TopicPartition(topic, 1): Offset(33)]
                let member = try GroupMemberUnderTest(broker, group: "ext", ["enable.auto.commit": "false"])
                try member.start(topics: [topic]) { partitions, consumer in
                    for partition in partitions { try? consumer.seek(partition, to: externalStore[partition]!) }
                }
                #expect(await GroupMemberUnderTest.eventually { member.records.count == (40 - 17) + (40 - 33) })
                await member.stop()
                let first = Dictionary(grouping: member.records, by: \.0).mapValues { $0.map(\.1).min()! }
                #expect(first == [TopicPartition(topic, 0): 17, TopicPartition(topic, 1): 33])
            }
        }

        @Test("a pattern subscription picks up a matching topic created later")
        func patternSubscription() async throws {
            try await BrokerProcess.with(overrides: Self.overrides) { broker in
                for (name, partitions) in [("pat-a", Int32(2)), ("pat-b", 1), ("other", 1)] { try await Self.createTopic(broker, name, partitions: partitions) }
                let member = try GroupMemberUnderTest(broker, group: "pattern", ["metadata.max.age.ms": "300"])
                try member.start(pattern: "pat-.*")
                let expected = [TopicPartition("pat-a", 0), TopicPartition("pat-a", 1), TopicPartition("pat-b", 0)]
                #expect(await GroupMemberUnderTest.eventually { member.consumer.assignment == expected })
                try await Self.createTopic(broker, "pat-c", partitions: 1)
                #expect(await GroupMemberUnderTest.eventually { member.consumer.assignment == expected + [TopicPartition("pat-c", 0)] },
                        "assignment: \(member.consumer.assignment)")
                #expect(member.consumer.subscription == ["pat-a", "pat-b", "pat-c"])
                await member.stop()
            }
        }

        @Test("cooperative-sticky: a joining member takes partitions without the other giving up the rest")
        func cooperativeRebalance() async throws {
            try await BrokerProcess.with(overrides: Self.overrides) { broker in
                let topic = "coop"
                try await Self.createTopic(broker, topic, partitions: 4)
                let settings = ["partition.assignment.strategy": "cooperative-sticky"]
                let first = try GroupMemberUnderTest(broker, group: "coop", settings)
                try first.start(topics: [topic])
                #expect(await GroupMemberUnderTest.eventually { first.consumer.assignment.count == 4 })
                let second = try GroupMemberUnderTest(broker, group: "coop", settings)
                try second.start(topics: [topic])
                #expect(await GroupMemberUnderTest.eventually { first.consumer.assignment.count == 2 && second.consumer.assignment.count == 2 })
                let revoked = first.events.withLock { $0.compactMap { if case .revoked(let partitions) = $0 { partitions } else { nil } } }
                #expect(revoked.flatMap { $0 }.sorted() == second.consumer.assignment, "only the moved partitions were revoked")
                #expect(!first.events.withLock { $0 }.contains(.revoked((0..<4).map { TopicPartition(topic, $0) })))
                await second.stop()
                await first.stop()
            }
        }

        @Test("a restarted static member gets its partitions back without a rebalance")
        func staticMemberRestart() async throws {
            try await BrokerProcess.with(overrides: Self.overrides) { broker in
                let topic = "static"
                try await Self.createTopic(broker, topic, partitions: 4)
                let settings = ["group.instance.id": "pod-1", "session.timeout.ms": "20000"]
                let stable = try GroupMemberUnderTest(broker, group: "static", settings)
                try stable.start(topics: [topic])
                let other = try GroupMemberUnderTest(broker, group: "static")
                #expect(await GroupMemberUnderTest.eventually { stable.consumer.assignment.count == 4 })
                try other.start(topics: [topic])
                #expect(await GroupMemberUnderTest.eventually { stable.consumer.assignment.count == 2 && other.consumer.assignment.count == 2 })
                let before = stable.consumer.assignment
                let otherEvents = other.events.withLock { $0.count }
                await stable.stop()  // a static member does not send LeaveGroup
                let restarted = try GroupMemberUnderTest(broker, group: "static", settings)
                try restarted.start(topics: [topic])
                #expect(await GroupMemberUnderTest.eventually { restarted.consumer.assignment == before })
                // The coordinator shows the group settled with both members: no rebalance under way
                // that the other member has yet to hear of at its next heartbeat.
                let settled = try await RillClients.withAdmin(broker) { admin in
                    await GroupMemberUnderTest.eventually {
                        let description = try? await admin.describeGroups(["static"]).first
                        return description?.state == "Stable" && description?.members.count == 2
                    }
                }
                #expect(settled, "the group did not settle with the restarted and the other member")
                let newOtherEvents = other.events.withLock { Array($0[otherEvents...]) }.filter { if case .record = $0 { false } else { true } }
                #expect(newOtherEvents.isEmpty, "the other member saw no rebalance: \(newOtherEvents)")
                await restarted.stop()
                await other.stop()
            }
        }

        @Test("KafkaAdmin lists and describes groups with members, assignments and committed offsets; rill groups describe prints the lag")
        func groupAdministration() async throws {
            try await BrokerProcess.with(overrides: Self.overrides) { broker in
                let topic = "admin-groups"
                try await Self.createTopic(broker, topic, partitions: 2)
                try await Self.seed(broker, topic: topic, partitions: 2, perPartition: 10)
                let member = try GroupMemberUnderTest(broker, group: "watchers", ["enable.auto.commit": "false"])
                try member.start(topics: [topic])
                #expect(await GroupMemberUnderTest.eventually { member.records.count == 20 })
                try await member.consumer.commitSync([TopicPartition(topic, 0): Offset(4), TopicPartition(topic, 1): Offset(10)])
                try await RillClients.withAdmin(broker) { admin in
                    #expect(try await admin.listGroups().map(\.groupID).contains("watchers"))
                    let description = try #require(try await admin.describeGroups(["watchers"]).first)
                    #expect(description.state == "Stable")
                    #expect(description.protocolName == "range")
                    #expect(description.members.map(\.assignment) == [[TopicPartition(topic, 0), TopicPartition(topic, 1)]])
                    #expect(description.members.first?.clientID == "rill-member")
                    #expect(try await admin.committedOffsets(group: "watchers") == [TopicPartition(topic, 0): Offset(4), TopicPartition(topic, 1): Offset(10)])
                }
                let output = try ChildProcess(executable: try Tools.rill(), arguments: ["groups", "describe", "watchers", "--bootstrap", broker.bootstrap])
                let finished = try await output.run(timeout: .seconds(30))
                #expect(finished.termination?.status == 0)
                let lines = finished.outputText.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
                #expect(lines.first?.prefix(3) == ["Group", "watchers:", "Stable,"])
                #expect(lines.contains { $0.prefix(5) == [topic, "0", "4", "10", "6"] }, "\(finished.outputText)")
                #expect(lines.contains { $0.prefix(5) == [topic, "1", "10", "10", "0"] })
                await member.stop()
            }
        }
    }
}
