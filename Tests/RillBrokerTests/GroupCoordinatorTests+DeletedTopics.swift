import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import Testing

/// A deleted topic's committed offsets are forgotten by every group (Kafka's
/// GroupCoordinator.handleDeletedPartitions), so a topic created again under the same name is
/// read from its start, not from the old topic's positions.
@Suite struct DeletedTopicOffsetTests {
    @Test func theDeletedTopicsOffsetsGoInEveryGroupAndOtherOffsetsStay() throws {
        let bed = GroupTestbed()
        let a = bed.joinTwoStep(client: "a")
        bed.advance(milliseconds: 200)
        bed.sync(memberID: a.memberID, generation: 1, assignments: [(a.memberID, "x")])
        #expect(bed.commit([("doomed", 0, 10), ("doomed", 1, 11), ("kept", 0, 12)], generation: 1, memberID: a.memberID) == [.none, .none, .none])
        #expect(bed.commit([("doomed", 0, 3), ("kept", 1, 4)], group: "simple") == [.none, .none])
        let appendsBefore = bed.store.appendCount

        bed.coordinator.removeOffsets(ofDeletedTopic: "doomed", now: bed.now)
        #expect(bed.committed("doomed", 0) == -1)
        #expect(bed.committed("doomed", 1) == -1)
        #expect(bed.committed("kept", 0) == 12)
        #expect(bed.committed("doomed", 0, group: "simple") == -1)
        #expect(bed.committed("kept", 1, group: "simple") == 4)
        // Membership is untouched: the stable group stays stable and keeps heartbeating.
        #expect(bed.state == .stable)
        #expect(bed.heartbeat(memberID: a.memberID, generation: 1) == .none)
        // One write per group that had offsets of the topic, with a tombstone for each.
        #expect(bed.store.appendCount == appendsBefore + 2)
        let tombstones = bed.store.records.compactMap { record -> String? in
            guard case .offsetCommit(let group, let topicPartition, nil) = record else { return nil }
            return "\(group):\(topicPartition.topic)-\(topicPartition.partition)"
        }
        #expect(Set(tombstones) == ["\(GroupTestbed.group):doomed-0", "\(GroupTestbed.group):doomed-1", "simple:doomed-0"])

        // Replaying the store gives the same picture.
        let reloaded = GroupCoordinator(configuration: bed.coordinator.configuration, store: MemoryGroupStore(), seed: 1)
        for (partition, pairs) in bed.store.partitions { reloaded.load(partition: partition, keysAndValues: pairs, now: bed.now) }
        let all = reloaded.fetchOffsets(OffsetFetchRequest(groupID: GroupTestbed.group, topics: nil))
        #expect(all.topics.map(\.name) == ["kept"])
    }

    @Test func aGroupLeftWithNoOffsetsAndNoMembersIsRemoved() {
        let bed = GroupTestbed()
        #expect(bed.commit([("doomed", 0, 3)], group: "commit-only") == [.none])
        #expect(bed.commit([("doomed", 0, 5)]) == [.none])
        let a = bed.joinTwoStep(client: "a")
        bed.advance(milliseconds: 200)
        bed.sync(memberID: a.memberID, generation: 1, assignments: [(a.memberID, "x")])
        _ = bed.leave([(a.memberID, nil)])
        #expect(bed.state == .empty)

        bed.coordinator.removeOffsets(ofDeletedTopic: "doomed", now: bed.now)
        #expect(bed.coordinator.state(of: "commit-only") == nil)
        #expect(bed.state == nil, "an empty consumer group without offsets is gone too")
        #expect(bed.coordinator.listGroups().isEmpty)
        #expect(bed.coordinator.describe("commit-only").groupState == "Dead")
        let groupTombstones = bed.store.records.filter { if case .groupMetadata(_, nil) = $0 { true } else { false } }
        #expect(groupTombstones.count == 2)
    }

    @Test func aFailedWriteKeepsTheOffsetsAndIsReported() {
        let bed = GroupTestbed()
        #expect(bed.commit([("doomed", 0, 3)]) == [.none])
        bed.store.failNextAppend = GroupStoreFailure(.kafkaStorageError, "disk gone")
        bed.coordinator.removeOffsets(ofDeletedTopic: "doomed", now: bed.now)
        #expect(bed.committed("doomed", 0) == 3, "nothing forgotten without a stored tombstone")
        #expect(bed.coordinator.takeDiagnostics().count == 1)
        // Deleting a topic no group committed changes nothing and writes nothing.
        let appends = bed.store.appendCount
        bed.coordinator.removeOffsets(ofDeletedTopic: "never-committed", now: bed.now)
        #expect(bed.store.appendCount == appends)
        #expect(bed.state == .empty)
    }
}
