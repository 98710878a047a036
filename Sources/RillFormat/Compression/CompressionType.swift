/// Kafka's compression codecs, by the id stored in a batch's attributes (bits 0-2).
public enum CompressionType: Int8, CaseIterable, Sendable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// The codec that compresses and decompresses this type's payloads; nil for `.none`.
    public var codec: (any CompressionCodec)? {
        switch self {
        case .none: nil
        case .gzip: GzipCodec()
        case .snappy: SnappyCodec()
        case .lz4: LZ4FrameCodec()
        case .zstd: ZstdCodec()
        }
    }

    /// Kafka's name for the codec, as `compression.type` spells it.
    public var name: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .snappy: "snappy"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    /// Parses Kafka's `compression.type` names (case-insensitive).
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = match
    }

    public var description: String { name }
}

/// A compression codec for the records section of a batch.
///
/// Implementations are stateless values; each call allocates its own library context.
/// `decompress` must stop with an error rather than produce more than `maximumBytes`, so a
/// hostile payload cannot claim unbounded memory.
public protocol CompressionCodec: Sendable {
    /// Appends the compressed form of `input` to `output`.
    func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws
    /// Appends the decompressed form of `input` to `output`.
    func decompress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer, maximumBytes: Int) throws
}

import NIOCore

extension FormatError {
    static func compression(_ codec: String, _ message: String) -> FormatError {
        FormatError(.compressionFailure, "\(codec): \(message)")
    }

    static func decompressedTooLarge(_ codec: String, _ limit: Int) -> FormatError {
        FormatError(.compressionFailure, "\(codec): payload decompresses to more than \(limit) bytes")
    }
}
