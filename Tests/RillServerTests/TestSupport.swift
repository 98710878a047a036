import Foundation
import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillServer
import RillStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A test's own failure with a message (a timeout, an unexpected close).
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory on the real file system, removed when the test ends.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "rill-server-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A broker started in-process on 127.0.0.1 with an ephemeral port and its own data directory.
/// `stop()` it at the end of the test; `restart()` stops and starts it on the same directory.
final class TestBroker {
    let directory: TemporaryDirectory
    let settings: [(String, String)]
    private(set) var server: BrokerServer?
    private(set) var port = 0

    init(_ settings: [(String, String)] = []) throws {
        directory = try TemporaryDirectory()
        self.settings = settings
        try start()
    }

    var configuration: BrokerConfiguration {
        get throws {
            // Two event loops, so that requests hop between partition shards as in production.
            try BrokerConfiguration(pairs: [
                ("listeners", "PLAINTEXT://127.0.0.1:0"), ("log.dirs", directory.path), ("rill.event.loops", "2"),
            ] + settings)
        }
    }

    private func start() throws {
        let server = try BrokerServer.start(configuration: try configuration, logging: false)
        self.server = server
        guard let boundPort = server.localAddress?.port else {
            try server.stop()
            throw TestFailure("the broker has no bound port")
        }
        port = boundPort
    }

    func stop() throws {
        guard let server else { return }
        self.server = nil
        try server.stop()
    }

    func restart() throws {
        try stop()
        try start()
    }

    func connect(receiveBufferBytes: Int32? = nil) throws -> TestConnection {
        try TestConnection(port: port, receiveBufferBytes: receiveBufferBytes)
    }

    deinit { try? stop() }
}

/// A blocking TCP client with bounded timeouts: every send and receive gives up after
/// `timeoutSeconds`, so a broker that never answers fails the test instead of hanging it.
final class TestConnection {
    private var descriptor: Int32
    private var nextCorrelationID: Int32 = 1
    let clientID = "rill-server-tests"

    /// `receiveBufferBytes` shrinks the socket's receive buffer (before connecting, so the TCP
    /// window stays small): a response the test does not read then stays partly unsent.
    init(port: Int, timeoutSeconds: Int = 10, receiveBufferBytes: Int32? = nil) throws {
        #if canImport(Glibc)
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBufferBytes {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            close()
            throw TestFailure("connect to 127.0.0.1:\(port) failed: errno \(error)")
        }
    }

    deinit { close() }

    func close() {
        guard descriptor >= 0 else { return }
        _ = closeDescriptor(descriptor)
        descriptor = -1
    }

    // MARK: Bytes

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                sendBytes(descriptor, buffer.baseAddress! + sent, buffer.count - sent)
            }
            guard count > 0 else { throw TestFailure("send failed: errno \(errno)") }
            sent += count
        }
    }

    func send(_ buffer: ByteBuffer) throws {
        try send(Array(buffer.readableBytesView))
    }

    enum Received {
        case bytes([UInt8])
        /// The broker closed the connection (end of stream or reset) before `count` bytes came.
        case closed
    }

    /// Exactly `count` bytes, or `.closed` when the stream ends first; throws on timeout.
    func receive(_ count: Int) throws -> Received {
        var bytes = [UInt8](repeating: 0, count: count)
        var received = 0
        while received < count {
            let result = bytes.withUnsafeMutableBytes { buffer in
                recv(descriptor, buffer.baseAddress! + received, count - received, 0)
            }
            if result > 0 {
                received += result
            } else if result == 0 || errno == ECONNRESET {
                return .closed
            } else if errno == EINTR {
                continue
            } else {
                throw TestFailure("no data from the broker within the timeout (errno \(errno))")
            }
        }
        return .bytes(bytes)
    }

    /// The next response frame without its size prefix, or nil when the broker closed.
    func receiveFrame() throws -> ByteBuffer? {
        guard let size = try receiveFrameSize() else { return nil }
        return try receiveFrameBody(size)
    }

    /// The size prefix of the next response frame (the broker has begun sending it), or nil when
    /// the broker closed.
    func receiveFrameSize() throws -> Int? {
        guard case .bytes(let sizeBytes) = try receive(4) else { return nil }
        let size = Int(Int32(bigEndian: sizeBytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        guard size >= 4, size <= 64 * 1024 * 1024 else { throw TestFailure("implausible response size \(size)") }
        return size
    }

    /// The rest of a frame whose size prefix `receiveFrameSize` read.
    func receiveFrameBody(_ size: Int) throws -> ByteBuffer {
        guard case .bytes(let body) = try receive(size) else { throw TestFailure("the broker closed in the middle of a response") }
        return ByteBuffer(bytes: body)
    }

    /// Whether the broker closes the connection without sending anything more (within the
    /// timeout): false when a response arrives instead.
    func isClosedByBroker() throws -> Bool {
        switch try receive(1) {
        case .closed: return true
        case .bytes: return false
        }
    }

    // MARK: Requests

    func makeCorrelationID() -> Int32 {
        defer { nextCorrelationID += 1 }
        return nextCorrelationID
    }

    /// The frame of `message` with a fresh correlation id.
    func frame<Message: KafkaRequestMessage>(_ message: Message, version: Int16) -> (frame: ByteBuffer, correlationID: Int32) {
        let correlationID = makeCorrelationID()
        return (message.encodedFrame(version: version, correlationID: correlationID, clientID: clientID), correlationID)
    }

    /// Sends `message` and returns its correlation id, without waiting for the response.
    @discardableResult
    func send<Message: KafkaRequestMessage>(_ message: Message, version: Int16) throws -> Int32 {
        let (frame, correlationID) = frame(message, version: version)
        try send(frame)
        return correlationID
    }

    /// Reads the next response, which must answer `correlationID`, as a `Response` at `version`.
    func receive<Response: KafkaResponseMessage>(_ type: Response.Type, version: Int16, correlationID: Int32) throws -> Response {
        guard let frame = try receiveFrame() else { throw TestFailure("the broker closed instead of answering \(Response.apiKey)") }
        return try decode(type, frame: frame, version: version, correlationID: correlationID)
    }

    /// A response frame (without its size prefix) read as `Response`.
    func decode<Response: KafkaResponseMessage>(_ type: Response.Type, frame: ByteBuffer, version: Int16, correlationID: Int32) throws -> Response {
        var reader = KafkaReader(frame)
        let received = try ResponseHeader.read(from: &reader, apiKey: Response.apiKey, version: version)
        guard received == correlationID else { throw TestFailure("expected correlation id \(correlationID), got \(received)") }
        let response = try Response(from: &reader, version: version)
        guard reader.remaining == 0 else { throw TestFailure("\(reader.remaining) bytes after the \(Response.apiKey) response") }
        return response
    }

    func request<Message: KafkaRequestMessage>(_ message: Message, version: Int16) throws -> Message.Response {
        let correlationID = try send(message, version: version)
        return try receive(Message.Response.self, version: version, correlationID: correlationID)
    }
}

private func closeDescriptor(_ descriptor: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(descriptor)
    #else
    Darwin.close(descriptor)
    #endif
}

private func sendBytes(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    // MSG_NOSIGNAL: a write to a connection the broker closed fails with EPIPE, not SIGPIPE.
    Glibc.send(descriptor, pointer, count, Int32(MSG_NOSIGNAL))
    #else
    Darwin.send(descriptor, pointer, count, 0)
    #endif
}

// MARK: Kafka conversations

extension TestConnection {
    static let produceVersion: Int16 = 8
    static let fetchVersion: Int16 = 11
    static let listOffsetsVersion: Int16 = 5
    static let metadataVersion: Int16 = 8

    func createTopic(_ name: String, partitions: Int32 = 1, configs: [String: String] = [:]) throws {
        let topic = CreateTopicsRequest.Topic(name: name, partitionCount: partitions, replicationFactor: 1,
                                              configs: configs.map { .init(name: $0.key, value: $0.value) })
        let response = try request(CreateTopicsRequest(topics: [topic]), version: 4)
        guard response.topics.count == 1, response.topics[0].errorCode == .none else {
            throw TestFailure("cannot create \(name): \(response.topics)")
        }
    }

    static func produceRequest(topic: String, partition: Int32 = 0, records: ByteBuffer?, acks: Int16 = 1) -> ProduceRequest {
        ProduceRequest(acks: acks, timeoutMilliseconds: 5_000,
                       topics: [.init(name: topic, partitions: [.init(partition: partition, records: records)])])
    }

    /// Produces one partition's records and returns that partition's answer.
    func produce(topic: String, partition: Int32 = 0, records: ByteBuffer?, acks: Int16 = 1, version: Int16 = produceVersion) throws -> ProduceResponse.Partition {
        let response = try request(Self.produceRequest(topic: topic, partition: partition, records: records, acks: acks), version: version)
        guard response.topics.count == 1, response.topics[0].partitions.count == 1 else { throw TestFailure("unexpected shape \(response)") }
        return response.topics[0].partitions[0]
    }

    static func fetchRequest(topic: String, partition: Int32 = 0, offset: Offset, maximumWaitMilliseconds: Int32 = 0, minimumBytes: Int32 = 0,
                             partitionMaximumBytes: Int32 = 1 << 20) -> FetchRequest {
        FetchRequest(maximumWaitMilliseconds: maximumWaitMilliseconds, minimumBytes: minimumBytes,
                     topics: [.init(name: topic, partitions: [.init(partition: partition, fetchOffset: offset, partitionMaximumBytes: partitionMaximumBytes)])])
    }

    func fetch(topic: String, partition: Int32 = 0, offset: Offset = .zero) throws -> FetchResponse.Partition {
        let response = try request(Self.fetchRequest(topic: topic, partition: partition, offset: offset), version: Self.fetchVersion)
        guard response.topics.count == 1, response.topics[0].partitions.count == 1 else { throw TestFailure("unexpected shape \(response)") }
        return response.topics[0].partitions[0]
    }

    static func listOffsetsRequest(topic: String, partition: Int32 = 0, timestamp: Int64) -> ListOffsetsRequest {
        ListOffsetsRequest(topics: [.init(name: topic, partitions: [.init(partition: partition, timestamp: Timestamp(milliseconds: timestamp))])])
    }

    /// ListOffsets for one partition: -1 latest, -2 earliest, else a timestamp.
    func listOffset(topic: String, partition: Int32 = 0, timestamp: Int64) throws -> ListOffsetsResponse.Partition {
        let response = try request(Self.listOffsetsRequest(topic: topic, partition: partition, timestamp: timestamp), version: Self.listOffsetsVersion)
        guard response.topics.count == 1, response.topics[0].partitions.count == 1 else { throw TestFailure("unexpected shape \(response)") }
        return response.topics[0].partitions[0]
    }

    func metadata(_ topics: [String]?, version: Int16 = metadataVersion) throws -> MetadataResponse {
        try request(MetadataRequest(topics: topics, allowAutoTopicCreation: false), version: version)
    }

    /// Every record batch a consumer gets from `offset`.
    func fetchBatches(topic: String, partition: Int32 = 0, offset: Offset = .zero) throws -> [RecordBatch] {
        let answer = try fetch(topic: topic, partition: partition, offset: offset)
        guard answer.errorCode == .none else { throw TestFailure("fetch failed with \(answer.errorCode)") }
        return try batches(in: answer.records)
    }
}

/// The whole batches in a records field (a truncated trailing batch is dropped, as clients do).
func batches(in records: ByteBuffer?) throws -> [RecordBatch] {
    guard var bytes = records else { return [] }
    var result: [RecordBatch] = []
    while bytes.readableBytes >= RecordBatchHeader.size {
        let totalSize = Int(bytes.getInteger(at: bytes.readerIndex + RecordBatchHeader.FieldOffset.batchLength, as: Int32.self)!) + RecordBatchHeader.logOverhead
        guard totalSize <= bytes.readableBytes else { break }
        let batch = try RecordBatch(validating: bytes)
        result.append(batch)
        bytes.moveReaderIndex(forwardBy: batch.header.totalSize)
    }
    return result
}

/// A magic-2 batch of `count` records "k0"="v0"… at timestamp 1000.
func makeBatch(_ count: Int, prefix: String = "", compression: CompressionType = .none, valueBytes: Int? = nil) throws -> ByteBuffer {
    var builder = RecordBatchBuilder(compression: compression)
    for index in 0..<count {
        let value = valueBytes.map { String(repeating: "x", count: $0) } ?? "\(prefix)v\(index)"
        builder.append(key: Array("\(prefix)k\(index)".utf8), value: Array(value.utf8), timestamp: Timestamp(milliseconds: 1_000 + Int64(index)))
    }
    return try builder.build()
}

/// The values of every record in `batches`, in order.
func values(_ batches: [RecordBatch]) throws -> [String] {
    try batches.flatMap { try $0.records().map { $0.value.map { String(buffer: $0) } ?? "∅" } }
}

extension ByteBuffer {
    /// A copy with the byte at `offset` of the readable bytes inverted.
    func flippingByte(at offset: Int) -> ByteBuffer {
        var copy = self
        let byte = copy.getInteger(at: copy.readerIndex + offset, as: UInt8.self)!
        copy.setInteger(~byte, at: copy.readerIndex + offset)
        return copy
    }
}

