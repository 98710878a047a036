import NIOCore
import RillFormat

/// Which versions of each API this package can encode and decode, and where each API's
/// flexible (KIP-482) versions begin (kafka-protocol.md §2.0).
///
/// The codecs implement the classic (non-flexible) versions; the broker decides which of these
/// it advertises (`BrokerApiVersions` in RillBroker).
public enum ApiVersionTable {
    /// The first flexible version of each API (nil: never flexible).
    public static func firstFlexibleVersion(_ apiKey: ApiKey) -> Int16? {
        switch apiKey {
        case .produce: 9
        case .fetch: 12
        case .listOffsets: 6
        case .metadata: 9
        case .offsetCommit: 8
        case .offsetFetch: 6
        case .findCoordinator: 3
        case .joinGroup: 6
        case .heartbeat: 4
        case .leaveGroup: 4
        case .syncGroup: 4
        case .describeGroups: 5
        case .listGroups: 3
        case .saslHandshake: nil
        case .apiVersions: 3
        case .createTopics: 5
        case .deleteTopics: 4
        case .deleteRecords: 2
        case .initProducerId: 2
        case .offsetForLeaderEpoch: 4
        case .describeConfigs: 4
        default: nil
        }
    }

    public static func isFlexible(_ apiKey: ApiKey, version: Int16) -> Bool {
        guard let first = firstFlexibleVersion(apiKey) else { return false }
        return version >= first
    }

    /// Versions the codecs in this package read and write: everything up to the last
    /// non-flexible version.
    public static func codecVersions(_ apiKey: ApiKey) -> ClosedRange<Int16>? {
        switch apiKey {
        case .produce: 0...8
        case .fetch: 0...11
        case .listOffsets: 0...5
        case .metadata: 0...8
        case .offsetCommit: 0...7
        case .offsetFetch: 0...5
        case .findCoordinator: 0...2
        case .joinGroup: 0...5
        case .heartbeat: 0...3
        case .leaveGroup: 0...3
        case .syncGroup: 0...3
        case .describeGroups: 0...4
        case .listGroups: 0...2
        case .apiVersions: 0...2
        case .createTopics: 0...4
        case .deleteTopics: 0...3
        case .deleteRecords: 0...1
        case .initProducerId: 0...1
        case .offsetForLeaderEpoch: 0...3
        case .describeConfigs: 0...3
        default: nil
        }
    }
}

/// A request body. Each conforming type reads and writes every version in
/// `ApiVersionTable.codecVersions(apiKey)`; fields absent in a version take Kafka's default.
public protocol KafkaRequestMessage: Sendable {
    associatedtype Response: KafkaResponseMessage
    static var apiKey: ApiKey { get }
    init(from reader: inout KafkaReader, version: Int16) throws
    func write(to buffer: inout ByteBuffer, version: Int16)
}

/// A response body, read and written for the same versions as its request.
public protocol KafkaResponseMessage: Sendable {
    static var apiKey: ApiKey { get }
    init(from reader: inout KafkaReader, version: Int16) throws
    func write(to buffer: inout ByteBuffer, version: Int16)
}
