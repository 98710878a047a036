/// The limits of the record format, named in one place (STYLE.md rule 2).
public enum FormatLimits {
    /// The largest batch we read or write at all (Kafka's socket.request.max.bytes default). A
    /// length field above this is corruption, not data.
    public static let maximumBatchBytes = 100 * 1024 * 1024
    /// The most a compressed batch may inflate to. Bounds the memory a hostile batch can claim.
    public static let maximumDecompressedBytes = 256 * 1024 * 1024
    /// The most records one batch may claim (each record takes at least 7 bytes).
    public static let maximumRecordsPerBatch = maximumDecompressedBytes / 7
    /// The most headers one record may carry.
    public static let maximumHeadersPerRecord = 1 << 20
}
