import NIOCore
import RillFormat
import RillProtocol

extension GroupCoordinator {
    // MARK: OffsetCommit

    /// Commits offsets (kafka-protocol.md §8.5): a member of the current generation, or — while
    /// the group has no members — anyone with generation -1 (assign()-only consumers and
    /// admin tools). `unknownPartitions` are partitions the broker does not have; they get
    /// UNKNOWN_TOPIC_OR_PARTITION as in Kafka. The records are stored before the offsets count.
    public func commitOffsets(_ request: OffsetCommitRequest, unknownPartitions: Set<TopicPartition> = [], now: Timestamp) -> OffsetCommitResponse {
        var response = OffsetCommitResponse(topics: request.topics.map { topic in
            .init(name: topic.name, partitions: topic.partitions.map { .init(partition: $0.partition) })
        })
        func answerAll(_ errorCode: ErrorCode) -> OffsetCommitResponse {
            var answer = response
            for topic in answer.topics.indices {
                for partition in answer.topics[topic].partitions.indices { answer.topics[topic].partitions[partition].errorCode = errorCode }
            }
            return answer
        }
        let isSimpleCommit = request.generationID < 0 && request.memberID.isEmpty && request.groupInstanceID == nil
        if groups[request.groupID] == nil {
            // Only a commit from outside group management may create a group.
            guard request.generationID < 0 else { return answerAll(.illegalGeneration) }
            groups[request.groupID] = ClassicGroup(groupID: request.groupID, partition: partition(of: request.groupID), now: now)
        }
        let result = update(request.groupID, now: now, firingTimers: false) { group -> ErrorCode? in
            if group.state == .dead { return .coordinatorNotAvailable }
            if !isSimpleCommit {
                if let error = validateMember(group, memberID: request.memberID, instanceID: request.groupInstanceID, generationID: request.generationID) {
                    return error
                }
                if group.state == .completingRebalance { return .rebalanceInProgress }
                let session = group.members[request.memberID]!.sessionTimeoutMilliseconds
                group.members[request.memberID]!.sessionDeadline = now.adding(milliseconds: session)
            } else if group.state != .empty {
                return .unknownMemberID
            }
            var records: [GroupStoreRecord] = []
            var committed: [(TopicPartition, CommittedOffset)] = []
            for (topicIndex, topic) in request.topics.enumerated() {
                for (partitionIndex, partition) in topic.partitions.enumerated() {
                    let topicPartition = TopicPartition(topic.name, partition.partition)
                    let metadata = partition.committedMetadata ?? ""
                    if unknownPartitions.contains(topicPartition) {
                        response.topics[topicIndex].partitions[partitionIndex].errorCode = .unknownTopicOrPartition
                    } else if metadata.utf8.count > configuration.offsetMetadataMaximumBytes {
                        response.topics[topicIndex].partitions[partitionIndex].errorCode = .offsetMetadataTooLarge
                    } else {
                        let offset = CommittedOffset(
                            offset: partition.committedOffset, leaderEpoch: partition.committedLeaderEpoch, metadata: metadata,
                            commitTimestamp: partition.commitTimestamp == .none ? now : partition.commitTimestamp)
                        records.append(.offsetCommit(group: group.groupID, topicPartition: topicPartition, offset))
                        committed.append((topicPartition, offset))
                    }
                }
            }
            guard !records.isEmpty else { return nil }
            do throws(GroupStoreFailure) {
                try store.append(records, partition: group.partition, now: now)
            } catch {
                let code = Self.offsetCommitError(for: error.errorCode)
                for topic in response.topics.indices {
                    for partition in response.topics[topic].partitions.indices where response.topics[topic].partitions[partition].errorCode == .none {
                        response.topics[topic].partitions[partition].errorCode = code
                    }
                }
                return nil
            }
            for (topicPartition, offset) in committed { group.offsets[topicPartition] = offset }
            return nil
        }
        if let error = result ?? nil { return answerAll(error) }
        return response
    }

    /// Kafka's mapping of a failed offset write to a commit error.
    static func offsetCommitError(for produceError: ErrorCode) -> ErrorCode {
        switch produceError {
        case .messageTooLarge, .recordListTooLarge, .invalidFetchSize: .invalidCommitOffsetSize
        default: coordinatorError(for: produceError)
        }
    }

    // MARK: OffsetFetch

    /// Committed offsets, in any group state; a partition without one answers offset -1.
    /// `topics == nil` asks for every partition the group has committed.
    public func fetchOffsets(_ request: OffsetFetchRequest) -> OffsetFetchResponse {
        let offsets = groups[request.groupID]?.offsets ?? [:]
        func answer(_ topicPartition: TopicPartition) -> OffsetFetchResponse.Partition {
            guard let committed = offsets[topicPartition] else {
                return .init(partition: topicPartition.partition, committedOffset: .none, metadata: "")
            }
            return .init(partition: topicPartition.partition, committedOffset: committed.offset, committedLeaderEpoch: committed.leaderEpoch, metadata: committed.metadata)
        }
        guard let requested = request.topics else {
            let byTopic = Dictionary(grouping: offsets.keys, by: \.topic)
            return OffsetFetchResponse(topics: byTopic.keys.sorted().map { topic in
                .init(name: topic, partitions: byTopic[topic]!.sorted { $0.partition < $1.partition }.map(answer))
            })
        }
        return OffsetFetchResponse(topics: requested.map { topic in
            .init(name: topic.name, partitions: topic.partitions.map { answer(TopicPartition(topic.name, $0)) })
        })
    }

    // MARK: DescribeGroups and ListGroups

    /// A group's state and members; member metadata and assignments only once it is stable.
    /// An unknown group is described as Dead with no members (error 0), as Kafka does.
    public func describe(_ groupID: String) -> DescribeGroupsResponse.Group {
        guard let group = groups[groupID], group.state != .dead else {
            return .init(groupID: groupID, groupState: GroupState.dead.rawValue, protocolType: "", protocolData: "", members: [])
        }
        let isStable = group.state == .stable
        let protocolName = group.protocolName ?? ""
        return .init(
            groupID: groupID, groupState: group.state.rawValue, protocolType: group.protocolType ?? "",
            protocolData: isStable ? protocolName : "",
            members: group.orderedMembers.map { member in
                .init(
                    memberID: member.memberID, groupInstanceID: member.groupInstanceID, clientID: member.client.clientID, clientHost: member.client.clientHost,
                    memberMetadata: isStable ? member.metadata(for: protocolName) : ByteBuffer(), memberAssignment: isStable ? member.assignment : ByteBuffer())
            })
    }

    public func listGroups() -> [ListGroupsResponse.Group] {
        groups.values.filter { $0.state != .dead }.sorted { $0.groupID < $1.groupID }.map { .init(groupID: $0.groupID, protocolType: $0.protocolType ?? "") }
    }

    // MARK: Offsets retention

    /// Deletes expired offsets (tombstones first, then memory): all of an empty group's once it
    /// has been empty for `offsets.retention.minutes`; a commit-only group's one by one by
    /// commit time; a stable consumer group's for topics nobody subscribes to any more. A
    /// group left empty with no offsets is removed.
    func expireOffsets(now: Timestamp) {
        let retention = configuration.offsetsRetentionMilliseconds
        for groupID in Array(groups.keys) {
            update(groupID, now: now, firingTimers: false) { group in
                let expired: [TopicPartition]
                switch (group.protocolType, group.state) {
                case (.some, .empty):
                    expired = now.milliseconds - group.stateTimestamp.milliseconds >= retention ? Array(group.offsets.keys) : []
                case (.none, _):
                    expired = group.offsets.filter { now.milliseconds - $0.value.commitTimestamp.milliseconds >= retention }.map(\.key)
                case (.some, .stable):
                    guard let subscribed = group.subscribedTopics else { expired = []; break }
                    expired = group.offsets.filter { !subscribed.contains($0.key.topic) && now.milliseconds - $0.value.commitTimestamp.milliseconds >= retention }.map(\.key)
                default:
                    expired = []
                }
                deleteOffsets(expired, from: &group, now: now, reason: "expired")
            }
        }
    }

    // MARK: Deleted topics

    /// Forgets every group's committed offsets of a deleted topic, as Kafka's coordinator does
    /// (`handleDeletedPartitions`), so a topic created again under the same name is consumed
    /// from its start by groups that knew the old one. A group left empty with no offsets is
    /// removed. A failed write keeps that group's offsets and is reported as a diagnostic.
    /// O(groups × their offsets).
    public func removeOffsets(ofDeletedTopic topic: String, now: Timestamp) {
        for groupID in Array(groups.keys) {
            update(groupID, now: now, firingTimers: false) { group in
                let deleted = group.offsets.keys.filter { $0.topic == topic }
                guard !deleted.isEmpty else { return }
                deleteOffsets(deleted, from: &group, now: now, reason: "deleted topic \(topic)'s")
            }
        }
    }

    /// Deletes `partitions`' offsets from `group`, tombstones first, then memory; a group that
    /// is then empty with no offsets (and no pending members) is marked dead and its record
    /// deleted too — also when `partitions` is empty.
    private func deleteOffsets(_ partitions: [TopicPartition], from group: inout ClassicGroup, now: Timestamp, reason: String) {
        var records = partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.map {
            GroupStoreRecord.offsetCommit(group: group.groupID, topicPartition: $0, nil)
        }
        let becomesDead = group.state == .empty && group.offsets.count == partitions.count && group.pendingMembers.isEmpty
        if becomesDead { records.append(.groupMetadata(group: group.groupID, nil)) }
        guard !records.isEmpty else { return }
        do throws(GroupStoreFailure) {
            try store.append(records, partition: group.partition, now: now)
        } catch {
            appendDiagnostic("group \(group.groupID): deleting \(partitions.count) \(reason) offsets failed: \(error.message)")
            return
        }
        for topicPartition in partitions { group.offsets[topicPartition] = nil }
        if becomesDead { group.transition(to: .dead, now: now) }
    }

    // MARK: Loading

    /// Rebuilds the groups stored in one `__consumer_offsets` partition from its records, in
    /// log order (later records win; tombstones delete). Members of a loaded group get a fresh
    /// session from `now`. Records that do not decode are skipped and reported.
    public func load(partition: Int32, keysAndValues: some Sequence<(key: ByteBuffer?, value: ByteBuffer?)>, now: Timestamp) {
        var offsets: [String: [TopicPartition: CommittedOffset]] = [:]
        var metadata: [String: GroupMetadataValue?] = [:]
        var skipped = 0
        for (key, value) in keysAndValues {
            guard let key, let record = try? GroupStoreRecord.decode(key: key, value: value) else {
                skipped += 1
                continue
            }
            switch record {
            case .offsetCommit(let group, let topicPartition, let committed):
                offsets[group, default: [:]][topicPartition] = committed
            case .groupMetadata(let group, let value):
                metadata[group] = .some(value)
            }
        }
        if skipped > 0 { appendDiagnostic("__consumer_offsets-\(partition): skipped \(skipped) records that are not group records") }
        for groupID in Set(offsets.keys).union(metadata.keys) {
            var group = ClassicGroup(groupID: groupID, partition: partition, now: now)
            group.offsets = offsets[groupID] ?? [:]
            if case .some(.some(let value)) = metadata[groupID] {
                group.install(value, now: now)
            }
            guard group.generationID > 0 || !group.offsets.isEmpty else { continue }
            groups[groupID] = group
        }
    }

    func appendDiagnostic(_ message: String) {
        diagnostics.append(message)
    }
}

extension ClassicGroup {
    /// Restores membership from a stored group record: stable with its members, or empty.
    mutating func install(_ value: GroupMetadataValue, now: Timestamp) {
        generationID = value.generationID
        protocolType = value.protocolType.isEmpty ? nil : value.protocolType
        protocolName = value.protocolName
        stateTimestamp = value.stateTimestamp == .none ? now : value.stateTimestamp
        for stored in value.members {
            var member = GroupMember(
                memberID: stored.memberID, groupInstanceID: stored.groupInstanceID,
                client: GroupClient(clientID: stored.clientID, clientHost: stored.clientHost),
                rebalanceTimeoutMilliseconds: Int64(stored.rebalanceTimeoutMilliseconds), sessionTimeoutMilliseconds: Int64(stored.sessionTimeoutMilliseconds),
                protocolType: value.protocolType, protocols: [.init(name: value.protocolName ?? "", metadata: stored.subscription)],
                sessionDeadline: now.adding(milliseconds: Int64(stored.sessionTimeoutMilliseconds)))
            member.assignment = stored.assignment
            add(member)
        }
        leaderID = members.isEmpty ? nil : (value.leaderID.flatMap { members[$0] != nil ? $0 : nil } ?? memberOrder.first)
        let restoredTimestamp = stateTimestamp
        transition(to: members.isEmpty ? .empty : .stable, now: restoredTimestamp)
    }
}
