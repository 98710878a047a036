import NIOCore
import RillFormat

extension KafkaRequestMessage {
    /// A complete request frame: size, header v1, body.
    public func encodedFrame(version: Int16, correlationID: Int32, clientID: String?, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        let frame = buffer.startKafkaFrame()
        RequestHeader(apiKey: Self.apiKey, apiVersion: version, correlationID: correlationID, clientID: clientID).write(to: &buffer)
        write(to: &buffer, version: version)
        buffer.finishKafkaFrame(at: frame)
        return buffer
    }
}

extension KafkaResponseMessage {
    /// A complete response frame: size, response header, body.
    public func encodedFrame(version: Int16, correlationID: Int32, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        let frame = buffer.startKafkaFrame()
        ResponseHeader.write(correlationID: correlationID, apiKey: Self.apiKey, version: version, to: &buffer)
        write(to: &buffer, version: version)
        buffer.finishKafkaFrame(at: frame)
        return buffer
    }
}
