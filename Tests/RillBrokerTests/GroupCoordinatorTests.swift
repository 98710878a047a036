import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import Testing

/// The classic group state machine under a test clock (kafka-protocol.md §8.1–§8.3).
@Suite struct GroupMembershipTests {
    /// One member joins, leads, assigns and becomes stable.
    func stableGroup(_ bed: GroupTestbed, members count: Int = 1) -> [String] {
        var joins: [(memberID: String, token: RequestToken)] = []
        for index in 0..<count { joins.append(bed.joinTwoStep(client: "c\(index)")) }
        bed.advance(milliseconds: 200)
        let generation = bed.joinAnswer(joins[0].token)!.generationID
        let leader = bed.joinAnswer(joins[0].token)!.leaderMemberID
        for join in joins where join.memberID != leader { bed.sync(memberID: join.memberID, generation: generation) }
        bed.sync(memberID: leader, generation: generation, assignments: joins.map { ($0.memberID, "a-\($0.memberID)") })
        #expect(bed.state == .stable)
        return joins.map(\.memberID)
    }

    @Test func aNewDynamicMemberFirstGetsItsIDWithMemberIDRequired() {
        let bed = GroupTestbed()
        let first = bed.join(client: "app")
        let answer = bed.joinAnswer(first)!
        #expect(answer.errorCode == .memberIDRequired)
        #expect(answer.memberID.hasPrefix("app-"))
        #expect(answer.memberID.count == "app-".count + 36)
        #expect(bed.state == .empty)

        let second = bed.join(memberID: answer.memberID, client: "app")
        #expect(bed.joinAnswer(second) == nil, "waits the initial rebalance delay")
        bed.advance(milliseconds: 200)
        let joined = bed.joinAnswer(second)!
        #expect(joined.errorCode == .none)
        #expect(joined.generationID == 1)
        #expect(joined.leaderMemberID == answer.memberID)
        #expect(joined.protocolName == "range")
        #expect(joined.members.map(\.memberID) == [answer.memberID])
        #expect(bed.state == .completingRebalance)
    }

    @Test func beforeVersion4AMemberJoinsInOneStep() {
        let bed = GroupTestbed()
        let token = bed.join(client: "old", version: 3)
        bed.advance(milliseconds: 200)
        let answer = bed.joinAnswer(token)!
        #expect(answer.errorCode == .none)
        #expect(answer.memberID.hasPrefix("old-"))
        #expect(answer.generationID == 1)
    }

    @Test func theLeadersSyncAnswersEveryMemberWithItsAssignment() {
        let bed = GroupTestbed()
        let a = bed.joinTwoStep(client: "a")
        let b = bed.joinTwoStep(client: "b")
        // Both joined within the initial rebalance delay: one generation for both.
        bed.advance(milliseconds: 200)
        let answerA = bed.joinAnswer(a.token)!, answerB = bed.joinAnswer(b.token)!
        #expect(answerA.generationID == 1 && answerB.generationID == 1)
        #expect(answerA.leaderMemberID == a.memberID && answerB.leaderMemberID == a.memberID)
        #expect(answerA.members.count == 2)
        #expect(answerB.members.isEmpty, "only the leader gets the member list")

        let followerSync = bed.sync(memberID: b.memberID, generation: 1)
        #expect(bed.syncAnswer(followerSync) == nil, "a follower waits for the leader")
        #expect(bed.heartbeat(memberID: b.memberID, generation: 1) == .none, "heartbeats are fine while completing")
        let leaderSync = bed.sync(memberID: a.memberID, generation: 1, assignments: [(a.memberID, "for-a"), (b.memberID, "for-b")])
        #expect(bed.syncAnswer(leaderSync)?.assignment == ByteBuffer(string: "for-a"))
        #expect(bed.syncAnswer(followerSync)?.assignment == ByteBuffer(string: "for-b"))
        #expect(bed.state == .stable)
        // A late or repeated SyncGroup in Stable gets the stored assignment.
        let again = bed.sync(memberID: b.memberID, generation: 1)
        #expect(bed.syncAnswer(again)?.assignment == ByteBuffer(string: "for-b"))
        // The stable group is stored with its assignment.
        guard case .groupMetadata(_, let value?)? = bed.store.records.last else {
            Issue.record("no group record stored")
            return
        }
        #expect(value.generationID == 1)
        #expect(value.members.map(\.assignment) == [ByteBuffer(string: "for-a"), ByteBuffer(string: "for-b")])
    }

    @Test func theInitialRebalanceDelayWaitsForMoreMembersAndIsExtendedByEachArrival() {
        let bed = GroupTestbed { $0.initialRebalanceDelayMilliseconds = 3_000 }
        let a = bed.joinTwoStep(client: "a")
        bed.advance(milliseconds: 2_000)
        #expect(bed.joinAnswer(a.token) == nil)
        let b = bed.joinTwoStep(client: "b")
        bed.advance(milliseconds: 1_000)
        #expect(bed.joinAnswer(a.token) == nil, "a member arrived during the delay: wait once more")
        bed.advance(milliseconds: 2_999)
        #expect(bed.joinAnswer(a.token) == nil)
        bed.advance(milliseconds: 1)
        #expect(bed.joinAnswer(a.token)?.generationID == 1)
        #expect(bed.joinAnswer(b.token)?.generationID == 1)
    }

    @Test func aNewMemberMakesAStableGroupRebalanceAndTheOthersRejoin() {
        let bed = GroupTestbed()
        let a = stableGroup(bed)[0]
        let b = bed.joinTwoStep(client: "b")
        #expect(bed.state == .preparingRebalance)
        #expect(bed.joinAnswer(b.token) == nil, "waits for the existing member")
        #expect(bed.heartbeat(memberID: a, generation: 1) == .rebalanceInProgress)
        let rejoin = bed.join(memberID: a, client: "c0")
        #expect(bed.joinAnswer(rejoin)?.generationID == 2)
        #expect(bed.joinAnswer(b.token)?.generationID == 2)
        #expect(bed.joinAnswer(rejoin)?.members.count == 2, "the old leader stays leader")
        #expect(bed.state == .completingRebalance)
    }

    @Test func aMemberThatStopsHeartbeatingIsRemovedAfterItsSessionTimeout() {
        let bed = GroupTestbed()
        let members = stableGroup(bed, members: 2)
        bed.advance(milliseconds: 9_000)
        #expect(bed.heartbeat(memberID: members[0], generation: 1) == .none)
        bed.advance(milliseconds: 1_000)
        // members[1] was silent for 10 s, its session timeout.
        #expect(bed.state == .preparingRebalance)
        #expect(bed.heartbeat(memberID: members[1], generation: 1) == .unknownMemberID)
        #expect(bed.heartbeat(memberID: members[0], generation: 1) == .rebalanceInProgress)
        let rejoin = bed.join(memberID: members[0], client: "c0")
        #expect(bed.joinAnswer(rejoin)?.generationID == 2)
        #expect(bed.joinAnswer(rejoin)?.members.map(\.memberID) == [members[0]])
    }

    @Test func leavingTriggersARebalanceAndTheLastLeaverEmptiesTheGroup() {
        let bed = GroupTestbed()
        let members = stableGroup(bed, members: 2)
        let response = bed.leave([(members[1], nil)])
        #expect(response.errorCode == .none)
        #expect(response.members.map(\.errorCode) == [.none])
        #expect(bed.state == .preparingRebalance)
        let rejoin = bed.join(memberID: members[0], client: "c0")
        #expect(bed.joinAnswer(rejoin)?.generationID == 2)

        #expect(bed.leave([("nobody", nil)]).members.map(\.errorCode) == [.unknownMemberID])
        #expect(bed.leave([("nobody", nil)], version: 1).errorCode == .unknownMemberID, "v0–2 put the member's error at the top")
        #expect(bed.leave([(members[0], nil)]).members.map(\.errorCode) == [.none])
        #expect(bed.state == .empty)
        #expect(bed.coordinator.describe(GroupTestbed.group).groupState == "Empty")
        guard case .groupMetadata(_, let value?)? = bed.store.records.last else {
            Issue.record("the empty group was not stored")
            return
        }
        #expect(value.members.isEmpty)
        #expect(value.generationID == 3)
    }

    @Test func aDynamicMemberThatDoesNotRejoinWithinTheRebalanceTimeoutIsDropped() {
        let bed = GroupTestbed()
        let members = stableGroup(bed, members: 2)
        let c = bed.joinTwoStep(client: "c", rebalance: 20_000)
        let rejoin = bed.join(memberID: members[0], client: "c0", rebalance: 20_000)
        // members[1] keeps heartbeating but never rejoins.
        for _ in 0..<5 {
            bed.advance(milliseconds: 5_000)
            _ = bed.heartbeat(memberID: members[1], generation: 1)
        }
        bed.advance(milliseconds: 5_000)
        #expect(bed.joinAnswer(rejoin)?.generationID == 2)
        #expect(bed.joinAnswer(c.token)?.generationID == 2)
        #expect(Set(bed.joinAnswer(rejoin)!.members.map(\.memberID)) == [members[0], c.memberID])
        #expect(bed.heartbeat(memberID: members[1], generation: 1) == .unknownMemberID)
    }

    @Test func aSyncGroupNeverSentDropsTheMemberAfterTheRebalanceTimeout() {
        let bed = GroupTestbed()
        let a = bed.joinTwoStep(client: "a", rebalance: 15_000)
        let b = bed.joinTwoStep(client: "b", rebalance: 15_000)
        bed.advance(milliseconds: 200)
        #expect(bed.joinAnswer(a.token)?.generationID == 1)
        let leaderSync = bed.sync(memberID: a.memberID, generation: 1, assignments: [(a.memberID, "x"), (b.memberID, "y")])
        #expect(bed.syncAnswer(leaderSync)?.errorCode == Optional(ErrorCode.none))
        // b heartbeats but never syncs.
        for _ in 0..<3 {
            bed.advance(milliseconds: 5_000)
            #expect(bed.heartbeat(memberID: a.memberID, generation: 1) != .unknownMemberID)
            _ = bed.heartbeat(memberID: b.memberID, generation: 1)
        }
        #expect(bed.state == .preparingRebalance)
        #expect(bed.heartbeat(memberID: b.memberID, generation: 1) == .unknownMemberID)
    }

    @Test func errorsOfSyncAndHeartbeat() {
        let bed = GroupTestbed()
        let a = stableGroup(bed)[0]
        #expect(bed.heartbeat(memberID: a, generation: 7) == .illegalGeneration)
        #expect(bed.heartbeat(memberID: "stranger", generation: 1) == .unknownMemberID)
        #expect(bed.heartbeat(memberID: a, generation: 1, group: "") == .invalidGroupID)
        #expect(bed.heartbeat(memberID: a, generation: 1, group: "other") == .unknownMemberID)
        #expect(bed.syncAnswer(bed.sync(memberID: a, generation: 9))?.errorCode == .illegalGeneration)
        #expect(bed.syncAnswer(bed.sync(memberID: "stranger", generation: 1))?.errorCode == .unknownMemberID)
        _ = bed.joinTwoStep(client: "b")
        #expect(bed.syncAnswer(bed.sync(memberID: a, generation: 1))?.errorCode == .rebalanceInProgress)
    }

    @Test func joinValidation() {
        let bed = GroupTestbed()
        #expect(bed.joinAnswer(bed.join(session: 5_999))?.errorCode == .invalidSessionTimeout)
        #expect(bed.joinAnswer(bed.join(session: 1_800_001))?.errorCode == .invalidSessionTimeout)
        #expect(bed.joinAnswer(bed.join(group: ""))?.errorCode == .invalidGroupID)
        #expect(bed.joinAnswer(bed.join(memberID: "made-up"))?.errorCode == .unknownMemberID)
        #expect(bed.coordinator.listGroups().isEmpty, "failed joins leave no group behind")
        _ = stableGroup(bed)
        #expect(bed.joinAnswer(bed.join(protocols: [("roundrobin", ByteBuffer())], version: 3))?.errorCode == .inconsistentGroupProtocol)
        #expect(bed.joinAnswer(bed.join(version: 3, protocolType: "connect"))?.errorCode == .inconsistentGroupProtocol)
        #expect(bed.joinAnswer(bed.join(group: "fresh", protocols: [], version: 3))?.errorCode == .inconsistentGroupProtocol)
    }

    @Test func theGroupMaxSizeIsEnforced() {
        let bed = GroupTestbed { $0.maximumGroupSize = 1 }
        _ = stableGroup(bed)
        #expect(bed.joinAnswer(bed.join(version: 3))?.errorCode == .groupMaxSizeReached)
    }

    @Test func theProtocolMostMembersPreferWins() {
        let bed = GroupTestbed()
        let meta = ByteBuffer()
        let a = bed.joinTwoStep(client: "a", protocols: [("range", meta), ("roundrobin", meta)])
        let b = bed.joinTwoStep(client: "b", protocols: [("roundrobin", meta), ("range", meta)])
        let c = bed.joinTwoStep(client: "c", protocols: [("roundrobin", meta), ("sticky", meta), ("range", meta)])
        bed.advance(milliseconds: 200)
        for token in [a.token, b.token, c.token] { #expect(bed.joinAnswer(token)?.protocolName == "roundrobin") }
    }

    @Test func aPendingMemberIDThatIsNeverUsedLapsesAfterTheSessionTimeout() {
        let bed = GroupTestbed()
        let a = stableGroup(bed)[0]
        let pending = bed.joinAnswer(bed.join(client: "late"))!.memberID
        // The leader rejoins; the pending member blocks completion until its id lapses.
        let rejoin = bed.join(memberID: a, client: "c0")
        #expect(bed.joinAnswer(rejoin) == nil)
        bed.advance(milliseconds: 10_000)
        #expect(bed.joinAnswer(rejoin)?.generationID == 2)
        #expect(bed.joinAnswer(bed.join(memberID: pending, client: "late"))?.errorCode == .unknownMemberID)
    }

    @Test func aRetriedJoinGetsTheSameAnswerAndASupersededJoinIsStillAnswered() {
        let bed = GroupTestbed()
        let a = bed.joinTwoStep(client: "a")
        bed.advance(milliseconds: 200)
        let retry = bed.join(memberID: a.memberID, client: "a")
        #expect(bed.joinAnswer(retry) == bed.joinAnswer(a.token))

        let other = GroupTestbed()
        let x = stableGroup(other, members: 2)
        let first = other.join(memberID: x[0], client: "c0")
        let second = other.join(memberID: x[0], client: "c0")
        #expect(other.joinAnswer(first)?.errorCode == .rebalanceInProgress, "no parked request is left unanswered")
        let y = other.join(memberID: x[1], client: "c1")
        #expect(other.joinAnswer(second)?.generationID == 2)
        #expect(other.joinAnswer(y)?.generationID == 2)
    }

    @Test func aFailedStoreOfTheAssignmentAnswersEveryoneAndRebalances() {
        let bed = GroupTestbed()
        let a = bed.joinTwoStep(client: "a")
        let b = bed.joinTwoStep(client: "b")
        bed.advance(milliseconds: 200)
        let followerSync = bed.sync(memberID: b.memberID, generation: 1)
        bed.store.failNextAppend = GroupStoreFailure(.kafkaStorageError, "disk gone")
        let leaderSync = bed.sync(memberID: a.memberID, generation: 1, assignments: [(a.memberID, "x"), (b.memberID, "y")])
        #expect(bed.syncAnswer(leaderSync)?.errorCode == .notCoordinator)
        #expect(bed.syncAnswer(followerSync)?.errorCode == .notCoordinator)
        #expect(bed.state == .preparingRebalance)
    }
}

@Suite struct StaticMembershipTests {
    @Test func aStaticMemberJoinsWithoutTheMemberIDRound() {
        let bed = GroupTestbed()
        let token = bed.join(instanceID: "pod-1", client: "app")
        bed.advance(milliseconds: 200)
        let answer = bed.joinAnswer(token)!
        #expect(answer.errorCode == .none)
        #expect(answer.memberID.hasPrefix("pod-1-"))
        #expect(answer.members.first?.groupInstanceID == "pod-1")
    }

    @Test func aRestartedStaticMemberTakesOverWithoutARebalanceAndFencesItsOldID() {
        let bed = GroupTestbed()
        let first = bed.join(instanceID: "pod-1", client: "app")
        let other = bed.joinTwoStep(client: "b")
        bed.advance(milliseconds: 200)
        let old = bed.joinAnswer(first)!.memberID
        bed.sync(memberID: other.memberID, generation: 1)
        bed.sync(memberID: old, generation: 1, instanceID: "pod-1", assignments: [(old, "mine"), (other.memberID, "theirs")])
        #expect(bed.state == .stable)

        let restart = bed.join(instanceID: "pod-1", client: "app")
        let answer = bed.joinAnswer(restart)!
        #expect(answer.errorCode == .none)
        #expect(answer.memberID != old && answer.memberID.hasPrefix("pod-1-"))
        #expect(answer.generationID == 1, "no new generation")
        #expect(answer.leaderMemberID == old, "the old leader id, so the restarted leader does not reassign")
        #expect(bed.state == .stable)
        #expect(bed.heartbeat(memberID: old, generation: 1, instanceID: "pod-1") == .fencedInstanceID)
        #expect(bed.heartbeat(memberID: answer.memberID, generation: 1, instanceID: "pod-1") == .none)
        #expect(bed.syncAnswer(bed.sync(memberID: answer.memberID, generation: 1, instanceID: "pod-1"))?.assignment == ByteBuffer(string: "mine"))
        #expect(bed.heartbeat(memberID: other.memberID, generation: 1) == .none, "the other member saw no rebalance")
    }

    @Test func aStaticMemberIsKeptThroughARebalanceItMissesButMustStillSync() {
        let bed = GroupTestbed()
        let s = bed.join(instanceID: "pod-1", session: 30_000, rebalance: 10_000)
        let d = bed.joinTwoStep(client: "d", session: 30_000, rebalance: 10_000)
        bed.advance(milliseconds: 200)
        let staticID = bed.joinAnswer(s)!.memberID
        bed.sync(memberID: d.memberID, generation: 1)
        bed.sync(memberID: staticID, generation: 1, instanceID: "pod-1", assignments: [])
        #expect(bed.state == .stable)
        // A new member starts a rebalance; d rejoins, the static member stays silent.
        let e = bed.joinTwoStep(client: "e", session: 30_000, rebalance: 10_000)
        let rejoin = bed.join(memberID: d.memberID, client: "d", session: 30_000, rebalance: 10_000)
        bed.advance(milliseconds: 10_000)
        #expect(bed.joinAnswer(rejoin)?.generationID == 2)
        #expect(bed.joinAnswer(e.token)?.generationID == 2)
        let members = bed.coordinator.describe(GroupTestbed.group).members.map(\.memberID)
        #expect(members.contains(staticID), "a static member is not dropped for missing a rejoin")
        #expect(bed.joinAnswer(rejoin)?.leaderMemberID == d.memberID, "the silent leader is replaced by one that rejoined")
        bed.sync(memberID: e.memberID, generation: 2)
        bed.sync(memberID: d.memberID, generation: 2, assignments: [(d.memberID, "x"), (e.memberID, "y")])
        #expect(bed.state == .stable)
        // It owes a SyncGroup like everyone; without one it is dropped after the rebalance timeout.
        bed.advance(milliseconds: 10_000)
        #expect(!bed.coordinator.describe(GroupTestbed.group).members.map(\.memberID).contains(staticID))
        #expect(bed.state == .preparingRebalance)
    }

    @Test func anAdminCanRemoveAStaticMemberByInstanceID() {
        let bed = GroupTestbed()
        _ = bed.join(instanceID: "pod-1")
        bed.advance(milliseconds: 200)
        #expect(bed.leave([("", "pod-1")]).members.map(\.errorCode) == [.none])
        #expect(bed.state == .empty)
        #expect(bed.leave([("", "pod-9")]).members.map(\.errorCode) == [.unknownMemberID])
    }
}

@Suite struct CommittedOffsetTests {
    @Test func assignOnlyConsumersCommitWithGenerationMinusOne() {
        let bed = GroupTestbed()
        #expect(bed.commit([("t", 0, 42), ("t", 1, 7), ("u", 0, 1)]) == [.none, .none, .none])
        #expect(bed.committed("t", 0) == 42)
        #expect(bed.committed("t", 1) == 7)
        #expect(bed.committed("t", 2) == -1)
        #expect(bed.committed("t", 0, group: "nobody") == -1)
        let all = bed.coordinator.fetchOffsets(OffsetFetchRequest(groupID: GroupTestbed.group, topics: nil))
        #expect(all.topics.map(\.name) == ["t", "u"])
        #expect(all.topics[0].partitions.map(\.committedOffset) == [Offset(42), Offset(7)])
        #expect(bed.coordinator.listGroups().map(\.groupID) == [GroupTestbed.group])
        #expect(bed.coordinator.listGroups().map(\.protocolType) == [""])
    }

    @Test func membersCommitInTheirGenerationAndOthersAreTurnedAway() {
        let bed = GroupTestbed()
        let a = bed.joinTwoStep(client: "a")
        bed.advance(milliseconds: 200)
        #expect(bed.commit([("t", 0, 1)], generation: 1, memberID: a.memberID) == [.rebalanceInProgress], "completing: no commits")
        bed.sync(memberID: a.memberID, generation: 1, assignments: [(a.memberID, "x")])
        #expect(bed.commit([("t", 0, 5)], generation: 1, memberID: a.memberID) == [.none])
        #expect(bed.commit([("t", 0, 6)], generation: 2, memberID: a.memberID) == [.illegalGeneration])
        #expect(bed.commit([("t", 0, 6)], generation: 1, memberID: "stranger") == [.unknownMemberID])
        #expect(bed.commit([("t", 0, 6)]) == [.unknownMemberID], "a group with members refuses simple commits")
        #expect(bed.commit([("t", 0, 6)], generation: 3, group: "absent") == [.illegalGeneration])
        // While preparing a rebalance, the current generation may still commit (onPartitionsRevoked).
        _ = bed.joinTwoStep(client: "b")
        #expect(bed.state == .preparingRebalance)
        #expect(bed.commit([("t", 0, 9)], generation: 1, memberID: a.memberID) == [.none])
        #expect(bed.committed("t", 0) == 9)
    }

    @Test func perPartitionErrorsAndAFailedWriteThatStoresNothing() {
        let bed = GroupTestbed { $0.offsetMetadataMaximumBytes = 8 }
        let errors = bed.commit([("t", 0, 1), ("gone", 0, 1)], metadata: "short", unknown: [TopicPartition("gone", 0)])
        #expect(errors == [.none, .unknownTopicOrPartition])
        #expect(bed.commit([("t", 0, 2)], metadata: "far too long") == [.offsetMetadataTooLarge])
        #expect(bed.committed("t", 0) == 1)
        bed.store.failNextAppend = GroupStoreFailure(.kafkaStorageError, "disk gone")
        #expect(bed.commit([("t", 0, 3)]) == [.notCoordinator])
        #expect(bed.committed("t", 0) == 1, "nothing applied without a stored record")
        bed.store.failNextAppend = GroupStoreFailure(.messageTooLarge, "too big")
        #expect(bed.commit([("t", 0, 3)]) == [.invalidCommitOffsetSize])
        #expect(bed.coordinator.fetchOffsets(OffsetFetchRequest(groupID: GroupTestbed.group, topics: [.init(name: "t", partitions: [0])])).topics[0].partitions[0].metadata == "short")
    }

    @Test func aRebuiltCoordinatorHasTheSameOffsetsAndGroups() throws {
        let bed = GroupTestbed()
        let a = bed.joinTwoStep(client: "a")
        bed.advance(milliseconds: 200)
        bed.sync(memberID: a.memberID, generation: 1, assignments: [(a.memberID, "x")])
        #expect(bed.commit([("t", 0, 10), ("t", 1, 11)], generation: 1, memberID: a.memberID) == [.none, .none])
        #expect(bed.commit([("t", 0, 12)], generation: 1, memberID: a.memberID) == [.none])
        #expect(bed.commit([("t", 0, 3)], group: "simple") == [.none])

        let reloaded = GroupCoordinator(configuration: bed.coordinator.configuration, store: MemoryGroupStore(), seed: 1)
        for (partition, pairs) in bed.store.partitions {
            reloaded.load(partition: partition, keysAndValues: pairs, now: bed.now)
        }
        #expect(reloaded.takeDiagnostics().isEmpty)
        let fetched = reloaded.fetchOffsets(OffsetFetchRequest(groupID: GroupTestbed.group, topics: [.init(name: "t", partitions: [0, 1])]))
        #expect(fetched.topics[0].partitions.map(\.committedOffset) == [Offset(12), Offset(11)])
        #expect(reloaded.state(of: GroupTestbed.group) == .stable)
        #expect(reloaded.state(of: "simple") == .empty)
        let described = reloaded.describe(GroupTestbed.group)
        #expect(described.members.map(\.memberID) == [a.memberID])
        #expect(described.members.first?.memberAssignment == ByteBuffer(string: "x"))
        // The loaded member keeps heartbeating in the loaded generation.
        #expect(reloaded.heartbeat(HeartbeatRequest(groupID: GroupTestbed.group, generationID: 1, memberID: a.memberID), now: bed.now).errorCode == .none)
    }

    @Test func loadingSkipsRecordsThatAreNotGroupRecordsAndHonoursTombstones() {
        let coordinator = GroupCoordinator(configuration: .init(), store: MemoryGroupStore(), seed: 1)
        let commit = GroupStoreRecord.offsetCommit(group: "g", topicPartition: TopicPartition("t", 0), CommittedOffset(offset: Offset(5), leaderEpoch: .none, metadata: "", commitTimestamp: Timestamp(milliseconds: 1)))
        let other = GroupStoreRecord.offsetCommit(group: "g", topicPartition: TopicPartition("t", 1), CommittedOffset(offset: Offset(6), leaderEpoch: .none, metadata: "", commitTimestamp: Timestamp(milliseconds: 1)))
        let tombstone = GroupStoreRecord.offsetCommit(group: "g", topicPartition: TopicPartition("t", 0), nil)
        let pairs: [(key: ByteBuffer?, value: ByteBuffer?)] = [
            (commit.key, commit.value), (ByteBuffer(string: "junk"), ByteBuffer(string: "junk")), (nil, nil),
            (other.key, other.value), (tombstone.key, tombstone.value),
        ]
        coordinator.load(partition: 0, keysAndValues: pairs, now: Timestamp(milliseconds: 10))
        let fetched = coordinator.fetchOffsets(OffsetFetchRequest(groupID: "g", topics: nil))
        #expect(fetched.topics.first?.partitions.map(\.partition) == [1])
        #expect(coordinator.takeDiagnostics().count == 1)
    }
}

@Suite struct OffsetRetentionTests {
    static let retention: Int64 = 60_000

    func bed() -> GroupTestbed {
        GroupTestbed {
            $0.offsetsRetentionMilliseconds = Self.retention
            $0.offsetsRetentionCheckIntervalMilliseconds = 1_000
        }
    }

    @Test func offsetsOfACommitOnlyGroupExpireByCommitTimeAndThenTheGroupIsGone() {
        let bed = bed()
        bed.advance(milliseconds: 200)
        #expect(bed.commit([("t", 0, 1)]) == [.none])
        bed.advance(milliseconds: 30_000)
        #expect(bed.commit([("t", 1, 1)]) == [.none])
        bed.advance(milliseconds: 31_000)
        #expect(bed.committed("t", 0) == -1)
        #expect(bed.committed("t", 1) == 1)
        bed.advance(milliseconds: 30_000)
        #expect(bed.committed("t", 1) == -1)
        #expect(bed.coordinator.listGroups().isEmpty)
        guard case .groupMetadata(_, nil)? = bed.store.records.last else {
            Issue.record("no group tombstone written")
            return
        }
        #expect(bed.store.records.contains(.offsetCommit(group: GroupTestbed.group, topicPartition: TopicPartition("t", 0), nil)))
    }

    @Test func anEmptyConsumerGroupKeepsItsOffsetsForTheRetentionAfterItEmptied() {
        let bed = bed()
        bed.advance(milliseconds: 200)
        let a = bed.joinTwoStep(client: "a")
        bed.advance(milliseconds: 200)
        bed.sync(memberID: a.memberID, generation: 1, assignments: [])
        #expect(bed.commit([("t", 0, 8)], generation: 1, memberID: a.memberID) == [.none])
        // Stable for longer than the retention: subscribed topics' offsets stay.
        for _ in 0..<20 {
            bed.advance(milliseconds: 5_000)
            _ = bed.heartbeat(memberID: a.memberID, generation: 1)
        }
        #expect(bed.committed("t", 0) == 8)
        _ = bed.leave([(a.memberID, nil)])
        #expect(bed.state == .empty)
        bed.advance(milliseconds: 59_000)
        #expect(bed.committed("t", 0) == 8)
        bed.advance(milliseconds: 2_000)
        #expect(bed.committed("t", 0) == -1)
        #expect(bed.state == nil)
    }

    @Test func aStableGroupLosesOffsetsOfTopicsItNoLongerSubscribesTo() {
        let bed = bed()
        bed.advance(milliseconds: 200)
        let a = bed.joinTwoStep(client: "a")
        bed.advance(milliseconds: 200)
        bed.sync(memberID: a.memberID, generation: 1, assignments: [])
        #expect(bed.commit([("t", 0, 8), ("old", 0, 3)], generation: 1, memberID: a.memberID) == [.none, .none])
        for _ in 0..<13 {
            bed.advance(milliseconds: 5_000)
            _ = bed.heartbeat(memberID: a.memberID, generation: 1)
        }
        #expect(bed.committed("t", 0) == 8)
        #expect(bed.committed("old", 0) == -1)
    }
}

/// Random sequences of group requests and clock steps: whatever happens, every parked request
/// is answered exactly once, generations only grow, and the leader is a member.
@Suite struct GroupCoordinatorModelTests {
    @Test(arguments: 0..<40) func everyParkedRequestIsAnsweredOnce(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let bed = GroupTestbed { $0.initialRebalanceDelayMilliseconds = Int64.random(in: 0...3_000, using: &random) }
        var known: [String: Int32] = [:]
        var parked: [RequestToken] = []
        for _ in 0..<300 {
            let members = Array(known.keys).sorted()
            var operation = Int.random(in: 0..<10, using: &random)
            if members.isEmpty && (2...6).contains(operation) { operation = 9 }
            switch operation {
            case 0, 1:
                let token = bed.join(client: "c", version: Int16.random(in: 3...5, using: &random))
                parked.append(token)
                if let answer = bed.joinAnswer(token), answer.errorCode == .memberIDRequired {
                    parked.append(bed.join(memberID: answer.memberID, client: "c"))
                }
            case 2:
                let member = members.randomElement(using: &random)!
                parked.append(bed.join(memberID: member, client: "c"))
            case 3:
                let member = members.randomElement(using: &random)!
                let generation = known[member]!
                parked.append(bed.sync(memberID: member, generation: generation, assignments: members.map { ($0, "a") }))
            case 4, 5:
                let member = members.randomElement(using: &random)!
                _ = bed.heartbeat(memberID: member, generation: known[member]!)
            case 6:
                let member = members.randomElement(using: &random)!
                _ = bed.leave([(member, nil)])
                known[member] = nil
            case 7:
                _ = bed.commit([("t", 0, Int64.random(in: 0...100, using: &random))])
            default:
                bed.advance(milliseconds: Int64.random(in: 0...4_000, using: &random))
            }
            for token in parked {
                if let answer = bed.joinAnswer(token), answer.errorCode == .none { known[answer.memberID] = answer.generationID }
            }
        }
        // Let every timeout run out: nothing may stay parked.
        for _ in 0..<40 { bed.advance(milliseconds: 60_000) }
        bed.advance(milliseconds: 400_000)
        let unanswered = parked.filter { bed.answers[$0] == nil }
        #expect(unanswered.isEmpty, "unanswered: \(unanswered)")
        #expect(bed.duplicateAnswers.isEmpty, "answered twice: \(bed.duplicateAnswers)")
        // In the order they were answered: generations never go back, every member of a
        // generation was told the same leader and protocol, and the leader's member list holds
        // the leader.
        var generations: [Int32: (leader: String, protocolName: String)] = [:]
        var latest: Int32 = -1
        for token in bed.answerOrder {
            guard let answer = bed.joinAnswer(token), answer.errorCode == .none else { continue }
            #expect(answer.generationID >= latest, "generation \(answer.generationID) answered after \(latest)")
            latest = max(latest, answer.generationID)
            if let seen = generations[answer.generationID] {
                #expect(seen.leader == answer.leaderMemberID && seen.protocolName == answer.protocolName, "generation \(answer.generationID)")
            }
            generations[answer.generationID] = (answer.leaderMemberID, answer.protocolName)
            if answer.memberID == answer.leaderMemberID {
                #expect(answer.members.contains { $0.memberID == answer.leaderMemberID }, "the leader of generation \(answer.generationID) is a member")
            }
        }
        #expect(!generations.isEmpty, "no join succeeded")
    }
}

/// Group records through a real `__consumer_offsets` partition log (simulated disk): what the
/// coordinator stores, a reopened log gives back, in Kafka's key and value layouts.
@Suite struct OffsetsTopicStorageTests {
    @Test func committedOffsetsAndGroupsSurviveReopeningTheLog() throws {
        let configuration = try TopicConfiguration.make(defaults: BrokerConfiguration(), overrides: OffsetsTopic.topicConfigs(broker: BrokerConfiguration()))
        #expect(configuration.log.cleanupPolicy.contains(.compact))
        let fixture = PartitionFixture(configuration: configuration, topicPartition: TopicPartition(OffsetsTopic.name, 0))
        var partition = try fixture.open()
        var coordinatorConfiguration = GroupCoordinatorConfiguration()
        coordinatorConfiguration.offsetsTopicPartitionCount = 1
        coordinatorConfiguration.initialRebalanceDelayMilliseconds = 0
        let store = PartitionGroupStore(partition: { $0 == 0 ? partition : nil })
        let coordinator = GroupCoordinator(configuration: coordinatorConfiguration, store: store, seed: 7)
        let now = Timestamp(milliseconds: 50_000)
        let request = OffsetCommitRequest(groupID: "billing", topics: [.init(name: "orders", partitions: [
            .init(partition: 0, committedOffset: Offset(120), committedLeaderEpoch: LeaderEpoch(3), committedMetadata: "m"),
            .init(partition: 1, committedOffset: Offset(7), committedMetadata: nil),
        ])])
        #expect(coordinator.commitOffsets(request, now: now).topics[0].partitions.map(\.errorCode) == [.none, .none])
        let join = coordinator.join(
            JoinGroupRequest(groupID: "web", sessionTimeoutMilliseconds: 10_000, memberID: "", protocolType: "consumer", protocols: [.init(name: "range", metadata: ByteBuffer(string: "sub"))]),
            version: 3, client: GroupClient(clientID: "w", clientHost: "/127.0.0.1"), token: RequestToken(1), now: now)
        guard case .join(let joined)? = join.first?.reply else {
            Issue.record("the join was not answered")
            return
        }
        _ = coordinator.sync(SyncGroupRequest(groupID: "web", generationID: joined.generationID, memberID: joined.memberID, assignments: [.init(memberID: joined.memberID, assignment: ByteBuffer(string: "all"))]), token: RequestToken(2), now: now)
        #expect(coordinator.state(of: "web") == .stable)

        try partition.log.close()
        partition = try fixture.open()
        let pairs = try OffsetsTopic.keysAndValues(of: partition.log)
        #expect(pairs.count == 3)
        let reloaded = GroupCoordinator(configuration: coordinatorConfiguration, store: store, seed: 8)
        reloaded.load(partition: 0, keysAndValues: pairs, now: now)
        let fetched = reloaded.fetchOffsets(OffsetFetchRequest(groupID: "billing", topics: nil)).topics[0].partitions
        #expect(fetched.map(\.committedOffset) == [Offset(120), Offset(7)])
        #expect(fetched.map(\.committedLeaderEpoch) == [LeaderEpoch(3), .none])
        #expect(fetched.map(\.metadata) == ["m", ""])
        #expect(reloaded.describe("web").members.first?.memberAssignment == ByteBuffer(string: "all"))
    }

    /// Bytes for the layouts of kafka-protocol.md §8.5, assembled by hand.
    @Test func recordLayoutsAreKafkas() {
        let commit = GroupStoreRecord.offsetCommit(group: "g", topicPartition: TopicPartition("t", 2), CommittedOffset(offset: Offset(5), leaderEpoch: LeaderEpoch(1), metadata: "", commitTimestamp: Timestamp(milliseconds: 9)))
        #expect(Array(buffer: commit.key) == [0, 1, 0, 1, 0x67, 0, 1, 0x74, 0, 0, 0, 2])
        #expect(Array(buffer: commit.value!) == [0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9])
        #expect(GroupStoreRecord.groupMetadata(group: "g", nil).value == nil)
        #expect(Array(buffer: GroupStoreRecord.groupMetadata(group: "g", nil).key) == [0, 2, 0, 1, 0x67])
        // Java's String.hashCode placement: "billing" lands where Kafka puts it.
        #expect(GroupPlacement.javaHashCode("billing") == -109_829_509)
        #expect(GroupPlacement.partition(of: "billing", partitionCount: 50) == 9)
        #expect(GroupPlacement.partition(of: "", partitionCount: 50) == 0)
    }
}
