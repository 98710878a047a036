import NIOCore
import RillProtocol

/// Rewrites the broker addresses in one connection's Kafka responses, so that a client behind a
/// proxy keeps using proxies: Metadata's broker list and FindCoordinator's host and port name
/// the proxy for each node instead of the broker. Sans-IO: it sees the request frames going one
/// way (to learn which API each correlation id asked) and the response frames coming back.
///
/// Only versions this package's codecs read are rewritten (the non-flexible ones Rill's broker
/// advertises); any other response passes through unchanged.
public struct KafkaAddressRewriter: Sendable {
    /// Where clients should connect to reach each node (its proxy).
    public var addresses: [Int32: (host: String, port: Int32)]
    private var pending: [Int32: (apiKey: ApiKey, version: Int16)] = [:]
    /// A bound on remembered requests (a client that never reads answers cannot grow it).
    static let maximumPending = 10_000

    public init(addresses: [Int32: (host: String, port: Int32)]) {
        self.addresses = addresses
    }

    /// Notes a request frame (size prefix removed) on its way to the broker.
    public mutating func noteRequest(_ frame: ByteBuffer) {
        var reader = KafkaReader(frame)
        guard let header = try? RequestHeader(from: &reader) else { return }
        guard header.apiKey == .metadata || header.apiKey == .findCoordinator else { return }
        if pending.count >= Self.maximumPending { pending.removeAll() }
        pending[header.correlationID] = (header.apiKey, header.apiVersion)
    }

    /// The response frame (size prefix removed) to pass on: rewritten when it answers a
    /// Metadata or FindCoordinator request, else unchanged. The result has its size prefix.
    public mutating func rewriteResponse(_ frame: ByteBuffer) -> ByteBuffer {
        var reader = KafkaReader(frame)
        guard let correlationID = try? reader.readInt32(), let request = pending.removeValue(forKey: correlationID) else {
            return Self.framed(frame)
        }
        do {
            switch request.apiKey {
            case .metadata:
                guard ApiVersionTable.codecVersions(.metadata)?.contains(request.version) == true else { return Self.framed(frame) }
                var response = try MetadataResponse(from: &reader, version: request.version)
                for index in response.brokers.indices {
                    guard let address = addresses[response.brokers[index].nodeID] else { continue }
                    response.brokers[index].host = address.host
                    response.brokers[index].port = address.port
                }
                return response.encodedFrame(version: request.version, correlationID: correlationID)
            case .findCoordinator:
                guard ApiVersionTable.codecVersions(.findCoordinator)?.contains(request.version) == true else { return Self.framed(frame) }
                var response = try FindCoordinatorResponse(from: &reader, version: request.version)
                if response.errorCode == .none, let address = addresses[response.nodeID] {
                    response.host = address.host
                    response.port = address.port
                }
                return response.encodedFrame(version: request.version, correlationID: correlationID)
            default:
                return Self.framed(frame)
            }
        } catch {
            return Self.framed(frame)
        }
    }

    static func framed(_ frame: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(frame.readableBytes + 4)
        buffer.writeInteger(Int32(frame.readableBytes))
        buffer.writeImmutableBuffer(frame)
        return buffer
    }
}
