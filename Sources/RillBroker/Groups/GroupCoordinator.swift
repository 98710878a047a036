import NIOCore
import RillFormat
import RillProtocol

/// An answer to a request the coordinator held back (a parked JoinGroup or SyncGroup).
public enum GroupReply: Hashable, Sendable {
    case join(JoinGroupResponse)
    case sync(SyncGroupResponse)
}

public struct ParkedReply: Hashable, Sendable {
    public var token: RequestToken
    public var reply: GroupReply
}

/// A failed write to `__consumer_offsets`, with the produce error it met.
public struct GroupStoreFailure: Error, Hashable, Sendable {
    public var errorCode: ErrorCode
    public var message: String

    public init(_ errorCode: ErrorCode, _ message: String) {
        self.errorCode = errorCode
        self.message = message
    }
}

/// Where the coordinator writes group records: partition `partition` of `__consumer_offsets`.
/// An append either stores every record or throws and stores none; the coordinator changes
/// its state only after a successful append (validate → persist → apply).
public protocol GroupRecordStore: AnyObject {
    func append(_ records: [GroupStoreRecord], partition: Int32, now: Timestamp) throws(GroupStoreFailure)
}

/// The classic group coordinator (kafka-protocol.md §8): membership, rebalances and committed
/// offsets for the groups whose `__consumer_offsets` partitions one shard owns.
///
/// Sans-IO: time arrives as `now`, randomness from a seed, records go to a `GroupRecordStore`,
/// and a JoinGroup or SyncGroup that must wait is answered later through the `ParkedReply`s
/// every entry point returns (its own answer may be among them). `tick(now:)` fires the
/// timeouts. Not thread-safe: one event loop drives it.
public final class GroupCoordinator {
    public let configuration: GroupCoordinatorConfiguration
    let store: any GroupRecordStore
    var groups: [String: ClassicGroup] = [:]
    /// Answers produced by the call in progress.
    private var replies: [ParkedReply] = []
    /// Things an operator should hear about (failed writes nobody is waiting for).
    var diagnostics: [String] = []
    private var random: SplitMix64
    private var nextRetentionCheck: Timestamp?

    public init(configuration: GroupCoordinatorConfiguration, store: any GroupRecordStore, seed: UInt64) {
        self.configuration = configuration
        self.store = store
        self.random = SplitMix64(seed: seed)
    }

    /// The `__consumer_offsets` partition that stores `groupID`.
    public func partition(of groupID: String) -> Int32 {
        GroupPlacement.partition(of: groupID, partitionCount: configuration.offsetsTopicPartitionCount)
    }

    /// The state of a group, or nil when there is no such group.
    public func state(of groupID: String) -> GroupState? { groups[groupID]?.state }

    /// Messages for the log since the last call.
    public func takeDiagnostics() -> [String] {
        defer { diagnostics.removeAll() }
        return diagnostics
    }

    // MARK: JoinGroup

    public func join(_ request: JoinGroupRequest, version: Int16, client: GroupClient, token: RequestToken, now: Timestamp) -> [ParkedReply] {
        let fail = { (code: ErrorCode, memberID: String) in self.answerJoin(token, error: code, memberID: memberID) }
        guard !request.groupID.isEmpty else { fail(.invalidGroupID, request.memberID); return drain() }
        let session = Int64(request.sessionTimeoutMilliseconds)
        guard (configuration.minimumSessionTimeoutMilliseconds...configuration.maximumSessionTimeoutMilliseconds).contains(session) else {
            fail(.invalidSessionTimeout, request.memberID)
            return drain()
        }
        let isUnknownMember = request.memberID.isEmpty
        if groups[request.groupID] == nil {
            guard isUnknownMember else { fail(.unknownMemberID, request.memberID); return drain() }
            groups[request.groupID] = ClassicGroup(groupID: request.groupID, partition: partition(of: request.groupID), now: now)
        }
        update(request.groupID, now: now) { group in
            let isKnown = group.has(request.memberID) || group.pendingMembers[request.memberID] != nil
            if group.state == .dead {
                fail(.coordinatorNotAvailable, request.memberID)
            } else if !isKnown && group.members.count >= configuration.maximumGroupSize {
                fail(.groupMaxSizeReached, request.memberID)
            } else if !group.supports(protocolType: request.protocolType, protocols: request.protocols) {
                fail(.inconsistentGroupProtocol, request.memberID)
            } else if isUnknownMember {
                joinNewMember(&group, request, version: version, client: client, token: token, now: now)
            } else {
                joinKnownMember(&group, request, client: client, token: token, now: now)
            }
        }
        return drain()
    }

    private func joinNewMember(_ group: inout ClassicGroup, _ request: JoinGroupRequest, version: Int16, client: GroupClient, token: RequestToken, now: Timestamp) {
        let newMemberID = "\(request.groupInstanceID ?? client.clientID)-\(makeUUID())"
        if let instanceID = request.groupInstanceID {
            if let oldMemberID = group.staticMembers[instanceID] {
                replaceStaticMember(&group, instanceID: instanceID, oldMemberID: oldMemberID, newMemberID: newMemberID, request, client: client, token: token, now: now)
            } else {
                addMemberAndRebalance(&group, memberID: newMemberID, request, client: client, token: token, now: now)
            }
        } else if version >= 4 {
            // KIP-394: a dynamic member first learns its id, then joins with it.
            group.pendingMembers[newMemberID] = now.adding(milliseconds: Int64(request.sessionTimeoutMilliseconds))
            answerJoin(token, error: .memberIDRequired, memberID: newMemberID)
        } else {
            addMemberAndRebalance(&group, memberID: newMemberID, request, client: client, token: token, now: now)
        }
    }

    private func joinKnownMember(_ group: inout ClassicGroup, _ request: JoinGroupRequest, client: GroupClient, token: RequestToken, now: Timestamp) {
        let memberID = request.memberID
        if group.pendingMembers.removeValue(forKey: memberID) != nil {
            addMemberAndRebalance(&group, memberID: memberID, request, client: client, token: token, now: now)
            return
        }
        if group.isStaticMemberFenced(instanceID: request.groupInstanceID, memberID: memberID) {
            answerJoin(token, error: .fencedInstanceID, memberID: memberID)
            return
        }
        guard let member = group.members[memberID] else {
            answerJoin(token, error: .unknownMemberID, memberID: memberID)
            return
        }
        switch group.state {
        case .preparingRebalance:
            updateMemberAndRebalance(&group, request, token: token, now: now)
        case .completingRebalance:
            if member.matches(request.protocols) {
                // A retried JoinGroup: the same answer again.
                answerJoin(token, with: joinResponse(group, for: memberID))
            } else {
                updateMemberAndRebalance(&group, request, token: token, now: now)
            }
        case .stable:
            if group.isLeader(memberID) || !member.matches(request.protocols) {
                // The leader rejoins to force a new assignment (e.g. its metadata changed).
                updateMemberAndRebalance(&group, request, token: token, now: now)
            } else {
                answerJoin(token, with: joinResponse(group, for: memberID, includeMembers: false))
            }
        case .empty, .dead:
            answerJoin(token, error: .unknownMemberID, memberID: memberID)
        }
    }

    private func addMemberAndRebalance(_ group: inout ClassicGroup, memberID: String, _ request: JoinGroupRequest, client: GroupClient, token: RequestToken, now: Timestamp) {
        let member = GroupMember(
            memberID: memberID, groupInstanceID: request.groupInstanceID, client: client,
            rebalanceTimeoutMilliseconds: Self.rebalanceTimeout(of: request), sessionTimeoutMilliseconds: Int64(request.sessionTimeoutMilliseconds),
            protocolType: request.protocolType, protocols: request.protocols, awaitingJoin: token, isNew: true,
            sessionDeadline: now.adding(milliseconds: configuration.newMemberJoinTimeoutMilliseconds))
        if group.state == .preparingRebalance && group.generationID == 0 { group.newMemberAdded = true }
        group.add(member)
        maybePrepareRebalance(&group, now: now)
        tryCompleteJoin(&group, now: now)
    }

    private func updateMemberAndRebalance(_ group: inout ClassicGroup, _ request: JoinGroupRequest, token: RequestToken, now: Timestamp) {
        updateMember(&group, request.memberID, from: request, token: token)
        maybePrepareRebalance(&group, now: now)
        tryCompleteJoin(&group, now: now)
    }

    /// Takes a member's new protocols and timeouts and parks its JoinGroup. A JoinGroup it had
    /// parked already is answered (its client gave up on it), so no connection waits forever.
    private func updateMember(_ group: inout ClassicGroup, _ memberID: String, from request: JoinGroupRequest, token: RequestToken) {
        guard var member = group.members[memberID] else { return }
        if let previous = member.awaitingJoin { answerJoin(previous, error: .rebalanceInProgress, memberID: memberID) }
        member.protocols = request.protocols
        member.rebalanceTimeoutMilliseconds = Self.rebalanceTimeout(of: request)
        member.sessionTimeoutMilliseconds = Int64(request.sessionTimeoutMilliseconds)
        member.awaitingJoin = token
        group.members[memberID] = member
    }

    /// A static member restarted (known instance id, empty member id): it takes over the old
    /// member's place under a new id; the old id is fenced. A stable group whose protocol
    /// choice would not change does not rebalance (KIP-345).
    private func replaceStaticMember(
        _ group: inout ClassicGroup, instanceID: String, oldMemberID: String, newMemberID: String,
        _ request: JoinGroupRequest, client: GroupClient, token: RequestToken, now: Timestamp
    ) {
        let currentLeader = group.leaderID
        guard let old = group.replaceStaticMember(instanceID: instanceID, oldMemberID: oldMemberID, newMemberID: newMemberID) else { return }
        if let parked = old.awaitingJoin { answerJoin(parked, error: .fencedInstanceID, memberID: oldMemberID) }
        if let parked = old.awaitingSync { answerSync(parked, error: .fencedInstanceID) }
        group.members[newMemberID]?.awaitingJoin = nil
        group.members[newMemberID]?.awaitingSync = nil
        group.members[newMemberID]?.client = client
        group.members[newMemberID]?.sessionDeadline = now.adding(milliseconds: Int64(request.sessionTimeoutMilliseconds))
        updateMember(&group, newMemberID, from: request, token: token)

        switch group.state {
        case .stable where group.selectedProtocol == group.protocolName:
            do throws(GroupStoreFailure) {
                try persistMetadata(group, now: now)
            } catch {
                // Undo, so the old instance keeps its place.
                _ = group.replaceStaticMember(instanceID: instanceID, oldMemberID: newMemberID, newMemberID: oldMemberID)
                group.members[oldMemberID]?.protocols = old.protocols
                group.members[oldMemberID]?.rebalanceTimeoutMilliseconds = old.rebalanceTimeoutMilliseconds
                group.members[oldMemberID]?.sessionTimeoutMilliseconds = old.sessionTimeoutMilliseconds
                group.members[oldMemberID]?.client = old.client
                group.members[oldMemberID]?.awaitingJoin = nil
                answerJoin(token, error: Self.coordinatorError(for: error.errorCode), memberID: newMemberID)
                return
            }
            group.members[newMemberID]?.awaitingJoin = nil
            // The leader id is the one from before the replacement, so a restarted leader does
            // not compute a new assignment (Kafka's rule).
            var response = joinResponse(group, for: newMemberID, includeMembers: false)
            response.leaderMemberID = currentLeader ?? ""
            answerJoin(token, with: response)
        case .stable:
            maybePrepareRebalance(&group, now: now)
            tryCompleteJoin(&group, now: now)
        case .completingRebalance:
            // The leader may be assigning to the old id: start over.
            prepareRebalance(&group, now: now)
        case .preparingRebalance:
            tryCompleteJoin(&group, now: now)
        case .empty, .dead:
            answerJoin(token, error: .unknownMemberID, memberID: newMemberID)
        }
    }

    // MARK: Rebalance phases

    private func maybePrepareRebalance(_ group: inout ClassicGroup, now: Timestamp) {
        guard [.stable, .completingRebalance, .empty].contains(group.state) else { return }
        prepareRebalance(&group, now: now)
    }

    /// Starts a join phase. An empty group waits the initial rebalance delay for more members;
    /// otherwise the phase ends when every member has rejoined or the rebalance timeout passes.
    private func prepareRebalance(_ group: inout ClassicGroup, now: Timestamp) {
        if group.state == .completingRebalance { resetAssignments(&group, answeringWith: .rebalanceInProgress, now: now) }
        group.pendingSyncMembers.removeAll()
        group.syncDeadline = nil
        if group.state == .empty {
            let delay = configuration.initialRebalanceDelayMilliseconds
            group.joinDeadline = now.adding(milliseconds: delay)
            group.initialDelayRemaining = max(group.rebalanceTimeoutMilliseconds - delay, 0)
        } else {
            group.joinDeadline = now.adding(milliseconds: group.rebalanceTimeoutMilliseconds)
            group.initialDelayRemaining = nil
        }
        group.transition(to: .preparingRebalance, now: now)
        tryCompleteJoin(&group, now: now)
    }

    private func tryCompleteJoin(_ group: inout ClassicGroup, now: Timestamp) {
        guard group.state == .preparingRebalance, group.initialDelayRemaining == nil, group.hasAllMembersJoined else { return }
        completeJoin(&group, now: now)
    }

    /// The join phase's deadline passed.
    private func joinDeadlinePassed(_ group: inout ClassicGroup, deadline: Timestamp, now: Timestamp) {
        if let remaining = group.initialDelayRemaining, group.newMemberAdded, remaining > 0 {
            // Members are still arriving: wait one more delay, within the rebalance timeout.
            group.newMemberAdded = false
            let delay = min(configuration.initialRebalanceDelayMilliseconds, remaining)
            group.joinDeadline = deadline.adding(milliseconds: delay)
            group.initialDelayRemaining = max(remaining - delay, 0)
            return
        }
        completeJoin(&group, now: now)
    }

    /// Ends the join phase: drops dynamic members that did not rejoin, starts the next
    /// generation and answers every parked JoinGroup (the leader gets the member list).
    private func completeJoin(_ group: inout ClassicGroup, now: Timestamp) {
        for member in group.orderedMembers where member.awaitingJoin == nil && !member.isStatic {
            removeMember(&group, member.memberID, answering: .unknownMemberID)
        }
        group.joinDeadline = nil
        group.initialDelayRemaining = nil
        group.newMemberAdded = false
        if !group.isEmpty && !electJoinedLeader(&group) {
            // Nobody rejoined: wait again; session timeouts will clear the silent members.
            group.joinDeadline = now.adding(milliseconds: group.rebalanceTimeoutMilliseconds)
            return
        }
        group.generationID &+= 1
        group.pendingSyncMembers.removeAll()
        if group.isEmpty {
            group.protocolName = nil
            group.transition(to: .empty, now: now)
            do throws(GroupStoreFailure) {
                try persistMetadata(group, now: now)
            } catch {
                appendDiagnostic("group \(group.groupID): storing the empty group failed: \(error.message)")
            }
            return
        }
        group.protocolName = group.selectedProtocol
        group.transition(to: .completingRebalance, now: now)
        for memberID in group.memberOrder {
            guard var member = group.members[memberID] else { continue }
            if let token = member.awaitingJoin { answerJoin(token, with: joinResponse(group, for: memberID)) }
            member.awaitingJoin = nil
            member.isNew = false
            member.sessionDeadline = now.adding(milliseconds: member.sessionTimeoutMilliseconds)
            group.members[memberID] = member
            group.pendingSyncMembers.insert(memberID)
        }
        group.syncDeadline = now.adding(milliseconds: group.rebalanceTimeoutMilliseconds)
    }

    /// Keeps the leader if it rejoined, else picks the longest-standing member that did.
    private func electJoinedLeader(_ group: inout ClassicGroup) -> Bool {
        if let leaderID = group.leaderID, group.members[leaderID]?.awaitingJoin != nil { return true }
        guard let joined = group.orderedMembers.first(where: { $0.awaitingJoin != nil }) else { return false }
        group.leaderID = joined.memberID
        return true
    }

    private func joinResponse(_ group: ClassicGroup, for memberID: String, includeMembers: Bool = true) -> JoinGroupResponse {
        let protocolName = group.protocolName ?? ""
        let members = includeMembers && group.isLeader(memberID)
            ? group.orderedMembers.map { JoinGroupResponse.Member(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, metadata: $0.metadata(for: protocolName)) }
            : []
        return JoinGroupResponse(
            generationID: group.generationID, protocolName: protocolName, leaderMemberID: group.leaderID ?? "", memberID: memberID, members: members)
    }

    // MARK: SyncGroup

    public func sync(_ request: SyncGroupRequest, token: RequestToken, now: Timestamp) -> [ParkedReply] {
        guard !request.groupID.isEmpty else { answerSync(token, error: .invalidGroupID); return drain() }
        guard groups[request.groupID] != nil else { answerSync(token, error: .unknownMemberID); return drain() }
        update(request.groupID, now: now) { group in
            if let error = validateMember(group, memberID: request.memberID, instanceID: request.groupInstanceID, generationID: request.generationID) {
                answerSync(token, error: error)
                return
            }
            switch group.state {
            case .empty, .dead:
                answerSync(token, error: group.state == .dead ? .coordinatorNotAvailable : .unknownMemberID)
            case .preparingRebalance:
                answerSync(token, error: .rebalanceInProgress)
            case .completingRebalance:
                if let previous = group.members[request.memberID]?.awaitingSync { answerSync(previous, error: .rebalanceInProgress) }
                group.members[request.memberID]?.awaitingSync = token
                markSynced(&group, request.memberID)
                if group.isLeader(request.memberID) { completeSync(&group, assignments: request.assignments, now: now) }
            case .stable:
                markSynced(&group, request.memberID)
                answerSync(token, with: SyncGroupResponse(assignment: group.members[request.memberID]?.assignment ?? ByteBuffer()))
            }
        }
        return drain()
    }

    private func markSynced(_ group: inout ClassicGroup, _ memberID: String) {
        group.pendingSyncMembers.remove(memberID)
        if group.pendingSyncMembers.isEmpty { group.syncDeadline = nil }
    }

    /// The leader's SyncGroup: store the assignment (members it left out get none), then
    /// answer every waiting member and become stable.
    private func completeSync(_ group: inout ClassicGroup, assignments: [SyncGroupRequest.Assignment], now: Timestamp) {
        var byMember: [String: ByteBuffer] = [:]
        for entry in assignments where group.has(entry.memberID) { byMember[entry.memberID] = entry.assignment }
        var assigned = group
        for memberID in assigned.memberOrder { assigned.members[memberID]?.assignment = byMember[memberID] ?? ByteBuffer() }
        do throws(GroupStoreFailure) {
            try persistMetadata(assigned, now: now)
        } catch {
            resetAssignments(&group, answeringWith: Self.coordinatorError(for: error.errorCode), now: now)
            maybePrepareRebalance(&group, now: now)
            return
        }
        group = assigned
        group.transition(to: .stable, now: now)
        for memberID in group.memberOrder {
            guard var member = group.members[memberID], let token = member.awaitingSync else { continue }
            answerSync(token, with: SyncGroupResponse(assignment: member.assignment))
            member.awaitingSync = nil
            member.sessionDeadline = now.adding(milliseconds: member.sessionTimeoutMilliseconds)
            group.members[memberID] = member
        }
    }

    /// Clears every assignment and answers waiting SyncGroups with `error`.
    private func resetAssignments(_ group: inout ClassicGroup, answeringWith error: ErrorCode, now: Timestamp) {
        for memberID in group.memberOrder {
            guard var member = group.members[memberID] else { continue }
            member.assignment = ByteBuffer()
            if let token = member.awaitingSync {
                answerSync(token, error: error)
                member.awaitingSync = nil
                member.sessionDeadline = now.adding(milliseconds: member.sessionTimeoutMilliseconds)
            }
            group.members[memberID] = member
        }
    }

    // MARK: Heartbeat

    public func heartbeat(_ request: HeartbeatRequest, now: Timestamp) -> HeartbeatResponse {
        guard !request.groupID.isEmpty else { return HeartbeatResponse(errorCode: .invalidGroupID) }
        guard groups[request.groupID] != nil else { return HeartbeatResponse(errorCode: .unknownMemberID) }
        let errorCode = update(request.groupID, now: now, firingTimers: false) { group -> ErrorCode in
            if let error = validateMember(group, memberID: request.memberID, instanceID: request.groupInstanceID, generationID: request.generationID) {
                return error
            }
            switch group.state {
            case .empty: return .unknownMemberID
            case .dead: return .coordinatorNotAvailable
            case .completingRebalance, .stable:
                refreshSession(&group, request.memberID, now: now)
                return .none
            case .preparingRebalance:
                // The member must rejoin; its session stays alive meanwhile.
                refreshSession(&group, request.memberID, now: now)
                return .rebalanceInProgress
            }
        }
        return HeartbeatResponse(errorCode: errorCode ?? .unknownMemberID)
    }

    private func refreshSession(_ group: inout ClassicGroup, _ memberID: String, now: Timestamp) {
        guard let session = group.members[memberID]?.sessionTimeoutMilliseconds else { return }
        group.members[memberID]?.sessionDeadline = now.adding(milliseconds: session)
    }

    /// Sync, Heartbeat and member commits: the sender must be the instance's current member,
    /// a member, and (if it says) of the current generation.
    func validateMember(_ group: ClassicGroup, memberID: String, instanceID: String?, generationID: Int32?) -> ErrorCode? {
        if group.state == .dead { return .coordinatorNotAvailable }
        if group.isStaticMemberFenced(instanceID: instanceID, memberID: memberID) { return .fencedInstanceID }
        if !group.has(memberID) { return .unknownMemberID }
        if let generationID, generationID != group.generationID { return .illegalGeneration }
        return nil
    }

    // MARK: LeaveGroup

    public func leave(_ request: LeaveGroupRequest, version: Int16, now: Timestamp) -> (LeaveGroupResponse, [ParkedReply]) {
        var response = LeaveGroupResponse()
        guard !request.groupID.isEmpty else {
            response.errorCode = .invalidGroupID
            return (response, drain())
        }
        if groups[request.groupID] == nil {
            response.members = request.members.map { .init(memberID: $0.memberID, groupInstanceID: $0.groupInstanceID, errorCode: .unknownMemberID) }
        } else {
            update(request.groupID, now: now) { group in
                if group.state == .dead {
                    response.errorCode = .coordinatorNotAvailable
                    return
                }
                response.members = request.members.map { leaving in
                    .init(memberID: leaving.memberID, groupInstanceID: leaving.groupInstanceID, errorCode: removeLeavingMember(&group, leaving, now: now))
                }
            }
        }
        // Before v3 a request names one member, and its error is the answer's.
        if version < 3, response.errorCode == .none, let first = response.members.first { response.errorCode = first.errorCode }
        return (response, drain())
    }

    private func removeLeavingMember(_ group: inout ClassicGroup, _ leaving: LeaveGroupRequest.Member, now: Timestamp) -> ErrorCode {
        var memberID = leaving.memberID
        if memberID.isEmpty {
            // An admin removing a static member by instance id.
            guard let instanceID = leaving.groupInstanceID, let current = group.staticMembers[instanceID] else { return .unknownMemberID }
            memberID = current
        } else if group.pendingMembers.removeValue(forKey: memberID) != nil {
            tryCompleteJoin(&group, now: now)
            return .none
        } else if group.isStaticMemberFenced(instanceID: leaving.groupInstanceID, memberID: memberID) {
            return .fencedInstanceID
        } else if !group.has(memberID) {
            return .unknownMemberID
        }
        removeMemberAndUpdateGroup(&group, memberID, now: now)
        return .none
    }

    /// Removes a member (left, expired or fenced out) and rebalances the rest.
    private func removeMemberAndUpdateGroup(_ group: inout ClassicGroup, _ memberID: String, now: Timestamp) {
        removeMember(&group, memberID, answering: .unknownMemberID)
        switch group.state {
        case .stable, .completingRebalance: maybePrepareRebalance(&group, now: now)
        case .preparingRebalance: tryCompleteJoin(&group, now: now)
        case .empty, .dead: break
        }
    }

    private func removeMember(_ group: inout ClassicGroup, _ memberID: String, answering error: ErrorCode) {
        guard let member = group.remove(memberID) else { return }
        if let token = member.awaitingJoin { answerJoin(token, error: error, memberID: memberID) }
        if let token = member.awaitingSync { answerSync(token, error: error) }
    }

    // MARK: Timers

    /// Fires every timeout due at `now`: lapsed member ids, expired sessions, join phases and
    /// SyncGroups that ran out of time, and the periodic offsets retention check.
    public func tick(now: Timestamp) -> [ParkedReply] {
        for groupID in Array(groups.keys) {
            update(groupID, now: now) { _ in }
        }
        if let check = nextRetentionCheck, now >= check {
            nextRetentionCheck = now.adding(milliseconds: configuration.offsetsRetentionCheckIntervalMilliseconds)
            expireOffsets(now: now)
        } else if nextRetentionCheck == nil {
            nextRetentionCheck = now.adding(milliseconds: configuration.offsetsRetentionCheckIntervalMilliseconds)
        }
        return drain()
    }

    /// Fires the group's due timeouts (each call's last step, so a zero delay fires at once).
    private func advanceTimers(_ group: inout ClassicGroup, now: Timestamp) {
        for (memberID, deadline) in group.pendingMembers where now >= deadline {
            group.pendingMembers[memberID] = nil
            tryCompleteJoin(&group, now: now)
        }
        for member in group.orderedMembers where now >= member.sessionDeadline && !member.isHeldByRebalance {
            removeMemberAndUpdateGroup(&group, member.memberID, now: now)
        }
        while group.state == .preparingRebalance, let deadline = group.joinDeadline, now >= deadline {
            joinDeadlinePassed(&group, deadline: deadline, now: now)
        }
        if [.completingRebalance, .stable].contains(group.state), let deadline = group.syncDeadline, now >= deadline {
            group.syncDeadline = nil
            let silent = group.pendingSyncMembers
            guard !silent.isEmpty else { return }
            for memberID in group.memberOrder where silent.contains(memberID) { removeMember(&group, memberID, answering: .unknownMemberID) }
            prepareRebalance(&group, now: now)
        }
    }

    // MARK: Plumbing

    /// Runs `body` on a group taken out of the table (so its storage is not copied), fires its
    /// due timers, and puts it back unless it is dead or an unused new group. Calls that answer
    /// directly (heartbeats, commits) leave the timers to the next `tick`, so no parked answer
    /// they might release is lost.
    @discardableResult
    func update<Result>(_ groupID: String, now: Timestamp, firingTimers: Bool = true, _ body: (inout ClassicGroup) -> Result) -> Result? {
        guard var group = groups.removeValue(forKey: groupID) else { return nil }
        let result = body(&group)
        if firingTimers { advanceTimers(&group, now: now) }
        let isUnused = group.state == .empty && group.isEmpty && group.pendingMembers.isEmpty && group.offsets.isEmpty && group.generationID == 0
        if group.state != .dead && !isUnused { groups[groupID] = group }
        return result
    }

    private func persistMetadata(_ group: ClassicGroup, now: Timestamp) throws(GroupStoreFailure) {
        try store.append([.groupMetadata(group: group.groupID, group.metadataValue)], partition: group.partition, now: now)
    }

    /// Kafka's mapping of a failed `__consumer_offsets` write to a group error.
    static func coordinatorError(for produceError: ErrorCode) -> ErrorCode {
        switch produceError {
        case .unknownTopicOrPartition, .notEnoughReplicas, .notEnoughReplicasAfterAppend: .coordinatorNotAvailable
        case .notLeaderOrFollower, .kafkaStorageError: .notCoordinator
        case .requestTimedOut: .rebalanceInProgress
        case .messageTooLarge, .recordListTooLarge, .invalidFetchSize: .unknownServerError
        default: produceError == .none ? .unknownServerError : produceError
        }
    }

    static func rebalanceTimeout(of request: JoinGroupRequest) -> Int64 {
        // v0 has none: the session timeout serves.
        request.rebalanceTimeoutMilliseconds > 0 ? Int64(request.rebalanceTimeoutMilliseconds) : Int64(request.sessionTimeoutMilliseconds)
    }

    private func answerJoin(_ token: RequestToken, error: ErrorCode, memberID: String) {
        answerJoin(token, with: JoinGroupResponse(errorCode: error, generationID: -1, protocolName: "", leaderMemberID: "", memberID: memberID))
    }

    private func answerJoin(_ token: RequestToken, with response: JoinGroupResponse) {
        replies.append(ParkedReply(token: token, reply: .join(response)))
    }

    private func answerSync(_ token: RequestToken, error: ErrorCode) {
        answerSync(token, with: SyncGroupResponse(errorCode: error, assignment: ByteBuffer()))
    }

    private func answerSync(_ token: RequestToken, with response: SyncGroupResponse) {
        replies.append(ParkedReply(token: token, reply: .sync(response)))
    }

    func drain() -> [ParkedReply] {
        defer { replies.removeAll(keepingCapacity: true) }
        return replies
    }

    /// A random version-4 UUID, as Kafka's member ids carry.
    private func makeUUID() -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String($0, radix: 16).leftPadded(2) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }
}

