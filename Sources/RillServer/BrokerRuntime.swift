import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RillBroker
import RillFormat
import RillProtocol
import RillStorage

/// The running broker: configuration, the partition shards (one per event loop), the control
/// plane, and the request dispatch that ties them to the wire protocol.
final class BrokerRuntime: Sendable {
    let configuration: BrokerConfiguration
    let shards: [PartitionShard]
    let controlPlane: ControlPlane
    let fileSystem: any FileSystem & Sendable
    /// Runs compaction passes off the event loops.
    let threadPool: NIOThreadPool
    let logger: BrokerLogger
    /// The port the listener bound, set once it has: the one to advertise when the
    /// configuration asks for an ephemeral port (0).
    let boundPort = NIOLockedValueBox<Int?>(nil)
    /// `__consumer_offsets` exists and every shard's group coordinator has loaded it; the
    /// value is its partition count. Nil until the first group request (or start-up) asks.
    let offsetsTopicReady = NIOLockedValueBox<EventLoopFuture<Int32>?>(nil)

    init(configuration: BrokerConfiguration, shards: [PartitionShard], controlPlane: ControlPlane, fileSystem: any FileSystem & Sendable, threadPool: NIOThreadPool, logger: BrokerLogger) {
        self.configuration = configuration
        self.shards = shards
        self.controlPlane = controlPlane
        self.fileSystem = fileSystem
        self.threadPool = threadPool
        self.logger = logger
    }

    func shard(for topicPartition: TopicPartition) -> PartitionShard {
        shards[ShardPlacement.index(of: topicPartition, shardCount: shards.count)]
    }

    func log(_ message: String) { logger.log(message) }

    /// The address for Metadata and FindCoordinator responses: the configured one, with an
    /// ephemeral port (0) replaced by the port actually bound, as Kafka does.
    var advertisedAddress: (host: String, port: Int) {
        let (host, port) = configuration.advertisedAddress
        guard port == 0, let bound = boundPort.withLockedValue({ $0 }) else { return (host, port) }
        return (host, bound)
    }

    /// The wall clock, in the shell (core modules take `now` as an argument).
    static func now() -> Timestamp {
        Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }

    func partitionDirectory(_ topicPartition: TopicPartition) -> String {
        FilePath.join(configuration.dataDirectory, topicPartition.directoryName)
    }

    // MARK: Dispatch

    /// Decodes one request frame and answers it. Malformed requests, unknown APIs and versions
    /// outside the advertised range close the connection, as Kafka does (§1.1); ApiVersions is
    /// answered at any version (§1.6).
    func handle(frame: ByteBuffer, eventLoop: any EventLoop, clientHost: String = "") -> EventLoopFuture<ResponsePayload> {
        var reader = KafkaReader(frame)
        let header: RequestHeader
        do {
            header = try RequestHeader(from: &reader)
        } catch {
            return eventLoop.makeSucceededFuture(.close(reason: "unreadable request header: \(error)"))
        }
        if header.apiKey == .apiVersions {
            return eventLoop.makeSucceededFuture(apiVersions(header))
        }
        guard let advertised = BrokerApiVersions.range(header.apiKey), advertised.contains(header.apiVersion) else {
            return eventLoop.makeSucceededFuture(.close(reason: "\(header.apiKey) v\(header.apiVersion) is not supported"))
        }
        let request: KafkaRequest
        do {
            request = try KafkaRequest.decode(header: header, body: &reader)
        } catch {
            return eventLoop.makeSucceededFuture(.close(reason: "malformed \(header.apiKey) v\(header.apiVersion) request: \(error)"))
        }
        return dispatch(request, header: header, eventLoop: eventLoop, clientHost: clientHost)
    }

    /// ApiVersions at a supported version gets the list; at any other version, the v0-format
    /// UNSUPPORTED_VERSION reply that makes every client fall back (KIP-511).
    func apiVersions(_ header: RequestHeader) -> ResponsePayload {
        let entries = BrokerApiVersions.apiVersionsEntries
        guard let range = BrokerApiVersions.range(.apiVersions), range.contains(header.apiVersion) else {
            let (response, version) = ApiVersionsResponse.unsupportedVersionReply(advertising: entries)
            return .frame(response.encodedFrame(version: version, correlationID: header.correlationID))
        }
        return respond(ApiVersionsResponse(apiKeys: entries), to: header)
    }

    func respond<Response: KafkaResponseMessage>(_ response: Response, to header: RequestHeader) -> ResponsePayload {
        .frame(response.encodedFrame(version: header.apiVersion, correlationID: header.correlationID))
    }
}

/// Minimal logging to standard error with a UTC timestamp (the shell's concern; core modules
/// report through return values).
struct BrokerLogger: Sendable {
    var isEnabled = true

    func log(_ message: String) {
        guard isEnabled else { return }
        let line = "[\(ISO8601DateFormatter().string(from: Date()))] \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
