import NIOCore
import RillFormat
import RillProtocol

/// A classic-protocol consumer group's life cycle (kafka-protocol.md §8.1).
public enum GroupState: String, Hashable, Sendable, CaseIterable {
    /// No members; the group may still hold committed offsets.
    case empty = "Empty"
    /// Waiting for every member to (re)send JoinGroup.
    case preparingRebalance = "PreparingRebalance"
    /// The join phase is over; waiting for the leader's SyncGroup with the assignment.
    case completingRebalance = "CompletingRebalance"
    /// Every member has its assignment.
    case stable = "Stable"
    /// Being removed: no members and no offsets left.
    case dead = "Dead"
}

/// An opaque handle for a request whose answer the coordinator holds back (JoinGroup and
/// SyncGroup wait for the other members). The shell maps it to the connection that asked.
public struct RequestToken: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "#\(rawValue)" }
}

/// Who sent a group request, for member ids and DescribeGroups.
public struct GroupClient: Hashable, Sendable {
    public var clientID: String
    public var clientHost: String

    public init(clientID: String, clientHost: String) {
        self.clientID = clientID
        self.clientHost = clientHost
    }
}

/// One member of a classic group, as the coordinator tracks it.
struct GroupMember {
    var memberID: String
    var groupInstanceID: String?
    var client: GroupClient
    var rebalanceTimeoutMilliseconds: Int64
    var sessionTimeoutMilliseconds: Int64
    var protocolType: String
    /// Assignment protocols in the member's order of preference, with their metadata.
    var protocols: [JoinGroupRequest.GroupProtocol]
    /// The member's assignment in the current generation (empty until the leader's SyncGroup).
    var assignment = ByteBuffer()
    /// A JoinGroup from this member that is waiting for the join phase to end.
    var awaitingJoin: RequestToken?
    /// A SyncGroup from this member that is waiting for the leader's.
    var awaitingSync: RequestToken?
    /// Joined in the current rebalance and not yet answered: it cannot heartbeat while its
    /// JoinGroup is parked, so it expires after the new-member join timeout instead.
    var isNew = false
    /// When the member is removed unless it heartbeats (or is parked in a rebalance).
    var sessionDeadline: Timestamp

    var isStatic: Bool { groupInstanceID != nil }

    func metadata(for protocolName: String) -> ByteBuffer {
        protocols.first { $0.name == protocolName }?.metadata ?? ByteBuffer()
    }

    /// Whether a rejoin carries the same protocols and metadata (then it changes nothing).
    func matches(_ other: [JoinGroupRequest.GroupProtocol]) -> Bool {
        protocols == other
    }

    /// Parked members do not expire by session (the rebalance timeout governs them), except a
    /// new member whose first JoinGroup has not been answered yet.
    var isHeldByRebalance: Bool {
        !isNew && (awaitingJoin != nil || awaitingSync != nil)
    }
}

/// A classic consumer group: membership, generation, assignments and committed offsets, with
/// the deadlines that drive rebalances. The transitions live in `GroupCoordinator`.
struct ClassicGroup {
    let groupID: String
    /// The `__consumer_offsets` partition that stores the group.
    let partition: Int32
    private(set) var state: GroupState = .empty
    /// When the group entered its current state (Kafka's `currentStateTimestamp`); offsets of
    /// an empty group expire relative to it.
    var stateTimestamp: Timestamp
    var generationID: Int32 = 0
    /// Set when the first member joins; kept while the group is empty ("consumer" for consumers).
    var protocolType: String?
    /// The protocol chosen for the current generation.
    var protocolName: String?
    var leaderID: String?
    /// Members by id, and the order they joined in (the first becomes leader).
    var members: [String: GroupMember] = [:]
    var memberOrder: [String] = []
    /// Member ids handed out with MEMBER_ID_REQUIRED, with when they lapse unless used.
    var pendingMembers: [String: Timestamp] = [:]
    /// Static members: instance id → current member id.
    var staticMembers: [String: String] = [:]
    /// Members that got a JoinGroup answer in this generation and owe a SyncGroup.
    var pendingSyncMembers: Set<String> = []
    var offsets: [TopicPartition: CommittedOffset] = [:]

    /// When the join phase ends (initial delay or rebalance timeout), while preparing.
    var joinDeadline: Timestamp?
    /// For the initial rebalance of an empty group: what remains of the rebalance timeout for
    /// further delays (nil for an ordinary join phase, which also ends once all have joined).
    var initialDelayRemaining: Int64?
    /// A member joined during the initial delay (so it is extended once more).
    var newMemberAdded = false
    /// When members that still owe a SyncGroup are removed.
    var syncDeadline: Timestamp?

    init(groupID: String, partition: Int32, now: Timestamp) {
        self.groupID = groupID
        self.partition = partition
        self.stateTimestamp = now
    }

    // MARK: Members

    var isEmpty: Bool { members.isEmpty }
    func has(_ memberID: String) -> Bool { members[memberID] != nil }
    func isLeader(_ memberID: String) -> Bool { leaderID == memberID }

    /// The longest rebalance timeout among members: how long a join phase may last.
    var rebalanceTimeoutMilliseconds: Int64 {
        members.values.map(\.rebalanceTimeoutMilliseconds).max() ?? 0
    }

    var membersAwaitingJoin: Int { members.values.count { $0.awaitingJoin != nil } }

    var hasAllMembersJoined: Bool {
        members.count == membersAwaitingJoin && pendingMembers.isEmpty
    }

    /// Members in join order.
    var orderedMembers: [GroupMember] { memberOrder.compactMap { members[$0] } }

    mutating func add(_ member: GroupMember) {
        if members.isEmpty { protocolType = member.protocolType }
        members[member.memberID] = member
        memberOrder.append(member.memberID)
        if leaderID == nil { leaderID = member.memberID }
        if let instanceID = member.groupInstanceID { staticMembers[instanceID] = member.memberID }
    }

    /// Removes a member; a departing leader hands over to the longest-standing member left.
    @discardableResult
    mutating func remove(_ memberID: String) -> GroupMember? {
        guard let member = members.removeValue(forKey: memberID) else { return nil }
        memberOrder.removeAll { $0 == memberID }
        if let instanceID = member.groupInstanceID, staticMembers[instanceID] == memberID { staticMembers[instanceID] = nil }
        if leaderID == memberID { leaderID = memberOrder.first }
        pendingSyncMembers.remove(memberID)
        return member
    }

    /// Moves a static member to a new member id (a restarted instance), keeping its place.
    mutating func replaceStaticMember(instanceID: String, oldMemberID: String, newMemberID: String) -> GroupMember? {
        guard var member = members.removeValue(forKey: oldMemberID) else { return nil }
        member.memberID = newMemberID
        members[newMemberID] = member
        if let position = memberOrder.firstIndex(of: oldMemberID) { memberOrder[position] = newMemberID }
        staticMembers[instanceID] = newMemberID
        if leaderID == oldMemberID { leaderID = newMemberID }
        pendingSyncMembers.remove(oldMemberID)
        return member
    }

    /// A request naming `instanceID` with a member id other than the instance's current one
    /// comes from a fenced (replaced) instance.
    func isStaticMemberFenced(instanceID: String?, memberID: String) -> Bool {
        guard let instanceID, let current = staticMembers[instanceID] else { return false }
        return current != memberID
    }

    // MARK: Protocols

    /// Protocol names every member supports.
    var candidateProtocols: Set<String> {
        var candidates: Set<String>?
        for member in members.values {
            let names = Set(member.protocols.map(\.name))
            candidates = candidates.map { $0.intersection(names) } ?? names
        }
        return candidates ?? []
    }

    /// Whether a member with these protocols may join: the group's protocol type, and at least
    /// one protocol name every current member also supports.
    func supports(protocolType: String, protocols: [JoinGroupRequest.GroupProtocol]) -> Bool {
        if members.isEmpty { return !protocolType.isEmpty && !protocols.isEmpty }
        guard protocolType == self.protocolType else { return false }
        return !candidateProtocols.isDisjoint(with: protocols.map(\.name))
    }

    /// The protocol for the next generation: each member votes for its most preferred
    /// candidate; most votes wins, ties going to the candidate voted for first.
    var selectedProtocol: String? {
        let candidates = candidateProtocols
        var votes: [String: Int] = [:]
        var firstVoted: [String] = []
        for member in orderedMembers {
            guard let choice = member.protocols.first(where: { candidates.contains($0.name) })?.name else { continue }
            if votes[choice] == nil { firstVoted.append(choice) }
            votes[choice, default: 0] += 1
        }
        return firstVoted.max { votes[$0]! < votes[$1]! || (votes[$0]! == votes[$1]! && firstVoted.firstIndex(of: $0)! > firstVoted.firstIndex(of: $1)!) }
    }

    /// The topics the members subscribe to, for protocol type "consumer" (offsets of other
    /// topics may expire while the group is stable); nil when unknown.
    var subscribedTopics: Set<String>? {
        guard protocolType == "consumer", let protocolName else { return nil }
        var topics: Set<String> = []
        for member in members.values {
            guard let subscription = try? ConsumerProtocolSubscription(decoding: member.metadata(for: protocolName)) else { return nil }
            topics.formUnion(subscription.topics)
        }
        return topics
    }

    // MARK: State

    mutating func transition(to newState: GroupState, now: Timestamp) {
        state = newState
        stateTimestamp = now
    }

    /// The record that persists the group's membership and assignments.
    var metadataValue: GroupMetadataValue {
        GroupMetadataValue(
            protocolType: protocolType ?? "", generationID: generationID, protocolName: protocolName, leaderID: leaderID,
            stateTimestamp: stateTimestamp,
            members: orderedMembers.map { member in
                GroupMetadataValue.Member(
                    memberID: member.memberID, groupInstanceID: member.groupInstanceID, clientID: member.client.clientID,
                    clientHost: member.client.clientHost,
                    rebalanceTimeoutMilliseconds: Int32(clamping: member.rebalanceTimeoutMilliseconds),
                    sessionTimeoutMilliseconds: Int32(clamping: member.sessionTimeoutMilliseconds),
                    subscription: protocolName.map { member.metadata(for: $0) } ?? ByteBuffer(), assignment: member.assignment)
            })
    }
}

extension Timestamp {
    func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(milliseconds: rawValue.addingReportingOverflow(milliseconds).overflow ? .max : rawValue + milliseconds)
    }
}
