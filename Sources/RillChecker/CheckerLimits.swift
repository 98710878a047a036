/// The limits of the history reader and the checker, named in one place (STYLE.md rule 2).
public enum CheckerLimits {
    /// The longest line of a history file. A poll of a few thousand records is tens of
    /// kilobytes; a longer line is a broken file, not an operation.
    public static let maximumLineBytes = 64 * 1024 * 1024
    /// The deepest nesting of JSON arrays and objects in one event (a poll is four levels deep).
    public static let maximumJSONDepth = 64
    /// The bytes read from a history file at a time.
    public static let readChunkBytes = 4 * 1024 * 1024
    /// The examples a verdict lists per anomaly by default; the total count is always given.
    public static let defaultExamplesPerAnomaly = 16
    /// The most examples a verdict may list per anomaly, whatever the configuration asks.
    public static let maximumExamplesPerAnomaly = 100_000
    /// The skipped offsets (with their values) an example of a skip lists.
    public static let maximumSkippedOffsetsListed = 8
    /// Offsets shown on each side of an anomaly in the report's pictures.
    public static let reportWindowRadius: Int64 = 5
    /// The largest offset a history may name (2^62): far beyond any real log, and small enough
    /// that offset arithmetic (windows, next offsets) cannot overflow.
    public static let maximumOffset: Int64 = 1 << 62
    /// Distinct values a history may hold: value ids are 32-bit.
    public static let maximumValues = Int(Int32.max) - 1
    /// Distinct partitions a history may name.
    public static let maximumPartitions = 1 << 20
}
