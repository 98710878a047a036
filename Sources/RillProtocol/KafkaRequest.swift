import NIOCore
import RillFormat

/// A decoded request body, one case per API this package implements.
///
/// `decode(header:body:)` is the broker's single entry point from a framed request to a typed
/// message: it checks the API key and version against `ApiVersionTable.codecVersions` before
/// reading anything, and insists that the body is consumed exactly.
public enum KafkaRequest: Hashable, Sendable {
    case produce(ProduceRequest)
    case fetch(FetchRequest)
    case listOffsets(ListOffsetsRequest)
    case metadata(MetadataRequest)
    case offsetCommit(OffsetCommitRequest)
    case offsetFetch(OffsetFetchRequest)
    case findCoordinator(FindCoordinatorRequest)
    case joinGroup(JoinGroupRequest)
    case heartbeat(HeartbeatRequest)
    case leaveGroup(LeaveGroupRequest)
    case syncGroup(SyncGroupRequest)
    case describeGroups(DescribeGroupsRequest)
    case listGroups(ListGroupsRequest)
    case apiVersions(ApiVersionsRequest)
    case createTopics(CreateTopicsRequest)
    case deleteTopics(DeleteTopicsRequest)
    case deleteRecords(DeleteRecordsRequest)
    case initProducerId(InitProducerIdRequest)
    case offsetForLeaderEpoch(OffsetForLeaderEpochRequest)
    case describeConfigs(DescribeConfigsRequest)

    /// Decodes the body that follows `header`.
    ///
    /// Throws `ProtocolError(.unknownApiKey)` for a key without a codec,
    /// `ProtocolError(.unsupportedVersion)` for a version outside `codecVersions` (an
    /// ApiVersions request at such a version must be answered by the caller per KIP-511, not
    /// decoded), and `.truncated` / `.invalidValue` for a malformed body, including one with
    /// bytes left over. Never traps on any input.
    public static func decode(header: RequestHeader, body: inout KafkaReader) throws -> KafkaRequest {
        guard let versions = ApiVersionTable.codecVersions(header.apiKey) else {
            throw ProtocolError(.unknownApiKey, "no codec for API key \(header.apiKey.rawValue)")
        }
        guard versions.contains(header.apiVersion) else {
            throw ProtocolError(.unsupportedVersion, "\(header.apiKey) v\(header.apiVersion) is outside \(versions)")
        }
        let request = try decodeBody(apiKey: header.apiKey, version: header.apiVersion, body: &body)
        try body.expectEnd("request body")
        return request
    }

    private static func decodeBody(apiKey: ApiKey, version: Int16, body: inout KafkaReader) throws -> KafkaRequest {
        switch apiKey {
        case .produce: .produce(try ProduceRequest(from: &body, version: version))
        case .fetch: .fetch(try FetchRequest(from: &body, version: version))
        case .listOffsets: .listOffsets(try ListOffsetsRequest(from: &body, version: version))
        case .metadata: .metadata(try MetadataRequest(from: &body, version: version))
        case .offsetCommit: .offsetCommit(try OffsetCommitRequest(from: &body, version: version))
        case .offsetFetch: .offsetFetch(try OffsetFetchRequest(from: &body, version: version))
        case .findCoordinator: .findCoordinator(try FindCoordinatorRequest(from: &body, version: version))
        case .joinGroup: .joinGroup(try JoinGroupRequest(from: &body, version: version))
        case .heartbeat: .heartbeat(try HeartbeatRequest(from: &body, version: version))
        case .leaveGroup: .leaveGroup(try LeaveGroupRequest(from: &body, version: version))
        case .syncGroup: .syncGroup(try SyncGroupRequest(from: &body, version: version))
        case .describeGroups: .describeGroups(try DescribeGroupsRequest(from: &body, version: version))
        case .listGroups: .listGroups(try ListGroupsRequest(from: &body, version: version))
        case .apiVersions: .apiVersions(try ApiVersionsRequest(from: &body, version: version))
        case .createTopics: .createTopics(try CreateTopicsRequest(from: &body, version: version))
        case .deleteTopics: .deleteTopics(try DeleteTopicsRequest(from: &body, version: version))
        case .deleteRecords: .deleteRecords(try DeleteRecordsRequest(from: &body, version: version))
        case .initProducerId: .initProducerId(try InitProducerIdRequest(from: &body, version: version))
        case .offsetForLeaderEpoch: .offsetForLeaderEpoch(try OffsetForLeaderEpochRequest(from: &body, version: version))
        case .describeConfigs: .describeConfigs(try DescribeConfigsRequest(from: &body, version: version))
        default: throw ProtocolError(.unknownApiKey, "no codec for API key \(apiKey.rawValue)")
        }
    }

    /// The message inside, as its protocol type (for logging and generic encoding).
    public var message: any KafkaRequestMessage {
        switch self {
        case .produce(let message): message
        case .fetch(let message): message
        case .listOffsets(let message): message
        case .metadata(let message): message
        case .offsetCommit(let message): message
        case .offsetFetch(let message): message
        case .findCoordinator(let message): message
        case .joinGroup(let message): message
        case .heartbeat(let message): message
        case .leaveGroup(let message): message
        case .syncGroup(let message): message
        case .describeGroups(let message): message
        case .listGroups(let message): message
        case .apiVersions(let message): message
        case .createTopics(let message): message
        case .deleteTopics(let message): message
        case .deleteRecords(let message): message
        case .initProducerId(let message): message
        case .offsetForLeaderEpoch(let message): message
        case .describeConfigs(let message): message
        }
    }

    /// The API key of the request.
    public var apiKey: ApiKey { type(of: message).apiKey }
}
