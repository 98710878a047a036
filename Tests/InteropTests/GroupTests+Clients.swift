import Foundation
import Testing

/// kafka-python and kcat as group members, static membership, and the admin clients' views of
/// groups.
extension InteropTests.GroupTests {
    /// Checks that every record with one of `keys` that a member consumed came from a partition
    /// it holds (records produced once the assignment was made).
    static func expectConsumedOwnPartitions(_ views: [MemberView], names: [String], keys: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let keys = Set(keys)
        for (view, name) in zip(views, names) {
            let foreign = view.consumed.filter { keys.contains($0.key ?? "") && !(view.assignment ?? []).contains($0.partition) }
            #expect(foreign.isEmpty, "\(name) consumed from partitions it does not hold: \(foreign.prefix(5))", sourceLocation: sourceLocation)
            #expect(!view.consumed.isEmpty, "\(name) consumed nothing", sourceLocation: sourceLocation)
        }
    }

    @Test("a kafka-python group consumer subscribes, consumes, commits, and leaves the group when it closes")
    func kafkaPythonMemberCommitsAndLeaves() async throws {
        try await BrokerProcess.with(overrides: Self.overrides(partitions: 2)) { broker in
            let topic = "python", group = "python-group"
            let keys = try await Self.produceKeyed(broker, topic: topic, prefix: "k", count: 120)
            let member = try GroupMember.start(.kafkaPython, name: "kafka-python", bootstrap: broker.bootstrap, group: group, topic: topic)
            defer { member.process.send(SIGKILL) }
            let done = await GroupWatch.wait(for: [member], timeout: Self.settleTimeout) { views in
                Set(Self.keys(views[0].consumed)).isSuperset(of: keys) && views[0].lastCommitted.values.reduce(0, +) == Int64(keys.count)
            }
            try #require(done != nil, "kafka-python did not consume and commit everything:\n\(GroupWatch.describe([member]))\n\(member.log)")
            #expect(done![0].assignment == [0, 1])
            let view = try await member.stop()
            #expect(view.consumed.count == keys.count)
            Self.expectContiguousPerPartition(view.consumed)
            #expect(view.errors.isEmpty && view.commitErrors.isEmpty, "\(view.errors) \(view.commitErrors)")

            // Right after close: without its LeaveGroup the member would stay for its session.
            let admin = try await GroupAdmin.run(broker.bootstrap, describe: [group], offsets: [group])
            #expect(admin.described[group]?.state == "EMPTY")
            #expect(admin.described[group]?.members == [])
            #expect(admin.offsets[group] == Self.endOffsets(of: view.consumed, topic: topic))
        }
    }

    @Test("a kafka-python and a confluent-kafka member share a group's partitions (range); the kafka-python member's leave hands them over")
    func kafkaPythonAndConfluentShareAGroup() async throws {
        try await BrokerProcess.with(overrides: Self.overrides(partitions: 4)) { broker in
            let topic = "mixed", group = "mixed-group"
            // The topic must exist before the members subscribe.
            try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: 0, lines: ["seed:value"])
            let python = try GroupMember.start(.kafkaPython, name: "python", bootstrap: broker.bootstrap, group: group, topic: topic)
            let confluent = try GroupMember.start(.confluent, name: "confluent", bootstrap: broker.bootstrap, group: group, topic: topic)
            let members = [python, confluent]
            defer { GroupMember.killAll(members) }
            let split = await GroupWatch.wait(for: members, timeout: Self.settleTimeout) { views in
                GroupWatch.isSplit(views.map(\.assignment), over: 0..<4) && views.allSatisfy { $0.assignment?.count == 2 }
            }
            try #require(split != nil, "the two clients did not split the partitions:\n\(GroupWatch.describe(members))\n\(python.log)")
            let keys = try await Self.produceKeyed(broker, topic: topic, prefix: "k", count: 400)
            let consumed = await GroupWatch.wait(for: members, timeout: Self.settleTimeout) { views in
                Set(views.flatMap { Self.keys($0.consumed) }).isSuperset(of: keys)
            }
            try #require(consumed != nil, "not every record was consumed:\n\(GroupWatch.describe(members))")
            Self.expectConsumedOwnPartitions(consumed!, names: ["kafka-python", "confluent"], keys: keys)
            #expect(consumed!.flatMap(\.consumed).filter { Set(keys).contains($0.key ?? "") }.count == keys.count, "records consumed twice")

            let pythonView = try await python.stop()
            let memberID = try #require(pythonView.events.last?.memberId)
            let admin = try await GroupAdmin.run(broker.bootstrap, describe: [group])
            #expect(admin.described[group]?.members?.map(\.clientId) == ["confluent"], "kafka-python's member \(memberID) is still in the group")
            let handedOver = await GroupWatch.wait(for: [confluent], timeout: Self.settleTimeout) { $0[0].assignment == [0, 1, 2, 3] }
            #expect(handedOver != nil, "the confluent member did not get every partition:\n\(GroupWatch.describe([confluent]))")
            let confluentView = try await confluent.stop()
            #expect((pythonView.errors + pythonView.commitErrors + confluentView.errors + confluentView.commitErrors).isEmpty)
        }
    }

    @Test("two kcat -G members balance a topic's partitions, consume every record once, and commit their offsets")
    func kcatBalancedConsumers() async throws {
        try await BrokerProcess.with(overrides: Self.overrides(partitions: 4)) { broker in
            let topic = "kcat-balanced", group = "kcat-group"
            try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: 0, lines: ["seed:value"])
            let members = try ["first", "second"].map { try GroupMember.start(.kcat, name: $0, bootstrap: broker.bootstrap, group: group, topic: topic) }
            defer { GroupMember.killAll(members) }
            let split = await GroupWatch.wait(for: members, timeout: Self.settleTimeout) { views in
                GroupWatch.isSplit(views.map(\.assignment), over: 0..<4) && views.allSatisfy { $0.assignment?.count == 2 }
            }
            try #require(split != nil, "the kcat members did not split the partitions:\n\(GroupWatch.describe(members))\n\(members[0].log)")
            let keys = try await Self.produceKeyed(broker, topic: topic, prefix: "k", count: 400)
            let consumed = await GroupWatch.wait(for: members, timeout: Self.settleTimeout) { views in
                Set(views.flatMap { Self.keys($0.consumed) }).isSuperset(of: keys)
            }
            try #require(consumed != nil, "not every record was consumed:\n\(GroupWatch.describe(members))")
            Self.expectConsumedOwnPartitions(consumed!, names: ["first", "second"], keys: keys)

            let views = try await GroupMember.stopAll(members)
            let records = views.flatMap(\.consumed)
            let produced = records.filter { Set(keys).contains($0.key ?? "") }
            #expect(produced.count == keys.count, "records consumed twice")
            #expect(Set(produced).count == produced.count)
            #expect(views.flatMap(\.errors).isEmpty, "\(views.flatMap(\.errors).prefix(5))")
            // kcat commits what it consumed (auto-commit, and on close).
            let admin = try await GroupAdmin.run(broker.bootstrap, describe: [group], offsets: [group])
            #expect(admin.offsets[group] == Self.endOffsets(of: records, topic: topic))
            #expect(admin.described[group]?.state == "EMPTY")
        }
    }

    @Test("a static member (group.instance.id) restarted within its session timeout gets its partitions back without rebalancing the other member")
    func staticMemberRestartsWithoutRebalance() async throws {
        try await BrokerProcess.with(overrides: Self.overrides(partitions: 4)) { broker in
            let topic = "static", group = "static-group"
            try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: 0, lines: ["seed:value"])
            // A long session, so a slow restart on a busy machine still falls within it.
            func start(_ instance: String) throws -> GroupMember {
                try GroupMember.start(name: instance, bootstrap: broker.bootstrap, group: group, topic: topic,
                                      extra: ["--instance-id", instance, "--session-timeout-ms", "30000"])
            }
            let first = try start("instance-a"), other = try start("instance-b")
            defer { GroupMember.killAll([first, other]) }
            let split = await GroupWatch.wait(for: [first, other], timeout: Self.settleTimeout) { views in
                GroupWatch.isSplit(views.map(\.assignment), over: 0..<4) && views.allSatisfy { $0.assignment?.count == 2 }
            }
            try #require(split != nil, "the static members did not split the partitions:\n\(GroupWatch.describe([first, other]))")
            let firstPartitions = try #require(split![0].assignment)
            // The first member to join may have been alone in an earlier generation.
            let otherAssignments = split![1].assignments.count, otherRevocations = split![1].revocations.count
            let before = try #require(try await GroupAdmin.run(broker.bootstrap, describe: [group]).described[group])
            #expect(before.state == "STABLE")

            // A static member's close does not leave the group: it keeps its place.
            try await first.stop()
            let closed = try #require(try await GroupAdmin.run(broker.bootstrap, describe: [group]).described[group])
            #expect(closed.members?.map(\.memberId).sorted() == before.members?.map(\.memberId).sorted())

            let restarted = try start("instance-a")
            defer { restarted.process.send(SIGKILL) }
            let back = await GroupWatch.wait(for: [restarted], timeout: Self.settleTimeout) { $0[0].assignment != nil }
            try #require(back != nil, "the restarted instance got no assignment:\n\(GroupWatch.describe([restarted]))")
            #expect(back![0].assignment == firstPartitions)
            let after = try #require(try await GroupAdmin.run(broker.bootstrap, describe: [group]).described[group])
            #expect(after.state == "STABLE")
            let beforeByInstance = Dictionary(uniqueKeysWithValues: (before.members ?? []).map { ($0.instanceId ?? "", $0) })
            let afterByInstance = Dictionary(uniqueKeysWithValues: (after.members ?? []).map { ($0.instanceId ?? "", $0) })
            #expect(Set(afterByInstance.keys) == ["instance-a", "instance-b"])
            #expect(afterByInstance["instance-b"] == beforeByInstance["instance-b"], "the other member changed")
            #expect(afterByInstance["instance-a"]?.memberId != beforeByInstance["instance-a"]?.memberId, "a restarted static member gets a new member id")
            #expect(afterByInstance["instance-a"]?.assignment == beforeByInstance["instance-a"]?.assignment)

            let views = try await GroupMember.stopAll([restarted, other])
            // The other member got no new assignment and was revoked only by its own close.
            #expect(views[1].assignments.count == otherAssignments, "the other member was rebalanced: \(views[1].assignments.map(\.partitions))")
            #expect(views[1].revocations.count == otherRevocations + 1)
            #expect(views[0].assignments.count == 1)
        }
    }

    @Test("confluent-kafka's AdminClient and kafka-python's KafkaAdminClient list and describe stable, empty, simple and unknown groups")
    func adminClientsListAndDescribeGroups() async throws {
        try await BrokerProcess.with(overrides: Self.overrides(partitions: 4)) { broker in
            let topic = "admin"
            try await Self.produceKeyed(broker, topic: topic, prefix: "k", count: 100)
            let leaver = try GroupMember.start(name: "leaver", bootstrap: broker.bootstrap, group: "admin-empty", topic: topic, extra: ["--max-records", "40"])
            defer { leaver.process.send(SIGKILL) }
            _ = try await leaver.waitUntilClosed()
            let members = try ["alpha", "beta"].map { try GroupMember.start(name: $0, bootstrap: broker.bootstrap, group: "admin-stable", topic: topic) }
            defer { GroupMember.killAll(members) }
            let split = await GroupWatch.wait(for: members, timeout: Self.settleTimeout) { views in
                GroupWatch.isSplit(views.map(\.assignment), over: 0..<4) && views.allSatisfy { $0.assignment?.count == 2 }
            }
            try #require(split != nil, "the members did not split the partitions:\n\(GroupWatch.describe(members))")
            let assigned = Dictionary(uniqueKeysWithValues: zip(["alpha", "beta"], split!.map { $0.assignment!.sorted().map { "\(topic):\($0)" } }))

            let groups = ["admin-stable", "admin-empty", "admin-simple", "admin-unknown"]
            let confluent = try await GroupAdmin.run(broker.bootstrap, list: true, describe: groups, offsets: ["admin-simple"],
                                                     alter: ["admin-simple:\(topic):0:7", "admin-simple:\(topic):1:9"])
            #expect(confluent.errors.isEmpty, "\(confluent.errors)")
            #expect(Array(confluent.altered.keys) == ["admin-simple"])
            #expect(confluent.altered["admin-simple"] == .some(nil), "altering the simple group's offsets failed")
            #expect(confluent.offsets["admin-simple"] == ["\(topic):0": 7, "\(topic):1": 9])
            let listed = Dictionary(uniqueKeysWithValues: (confluent.groups ?? []).map { ($0.groupId, $0.isSimple) })
            #expect(listed == ["admin-stable": false, "admin-empty": false, "admin-simple": true])
            let stable = confluent.described["admin-stable"]
            #expect(stable?.state == "STABLE")
            #expect(stable?.assignor == "range")
            #expect(stable?.coordinator == 0)
            #expect(stable?.isSimple == false)
            #expect(stable?.members?.map(\.host) == ["/127.0.0.1", "/127.0.0.1"])
            #expect(Dictionary(uniqueKeysWithValues: (stable?.members ?? []).map { ($0.clientId, $0.assignment) }) == assigned)
            #expect(confluent.described["admin-empty"]?.state == "EMPTY")
            #expect(confluent.described["admin-empty"]?.members == [])
            #expect(confluent.described["admin-simple"]?.state == "EMPTY")
            #expect(confluent.described["admin-simple"]?.isSimple == true)
            #expect(confluent.described["admin-unknown"]?.state == "DEAD")

            let python = try await GroupAdmin.run(broker.bootstrap, client: .kafkaPython, list: true, describe: groups)
            #expect(python.errors.isEmpty, "\(python.errors)")
            let types = Dictionary(uniqueKeysWithValues: (python.groups ?? []).map { ($0.groupId, $0.protocolType ?? "?") })
            #expect(types == ["admin-stable": "consumer", "admin-empty": "consumer", "admin-simple": ""])
            let pythonStable = python.described["admin-stable"]
            #expect(pythonStable?.state == "Stable")
            #expect(pythonStable?.protocolType == "consumer")
            #expect(pythonStable?.assignor == "range")
            #expect(pythonStable?.error == nil)
            #expect(pythonStable?.members?.map(\.memberId).sorted() == stable?.members?.map(\.memberId).sorted())
            #expect(Dictionary(uniqueKeysWithValues: (pythonStable?.members ?? []).map { ($0.clientId, $0.assignment) }) == assigned)
            #expect(pythonStable?.members?.map(\.subscription) == [[topic], [topic]])
            #expect(python.described["admin-empty"]?.state == "Empty")
            #expect(python.described["admin-simple"]?.state == "Empty")
            #expect(python.described["admin-simple"]?.protocolType == "")
            #expect(python.described["admin-unknown"]?.state == "Dead")

            _ = try await GroupMember.stopAll(members)
        }
    }
}
