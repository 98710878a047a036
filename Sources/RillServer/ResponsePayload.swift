import NIOCore
import RillStorage

/// What a request produces for the connection.
enum ResponsePayload: Sendable {
    /// Nothing is sent (Produce with acks=0).
    case none
    /// A complete frame (size prefix included).
    case frame(ByteBuffer)
    /// A frame assembled from buffers and file ranges (Fetch), `byteCount` bytes in all.
    case parts([ResponsePart])
    /// Close the connection without answering (Kafka's way to signal an acks=0 failure or a
    /// request it cannot parse).
    case close(reason: String)
}

enum ResponsePart: Sendable {
    case bytes(ByteBuffer)
    case file(FileSlice)
}
