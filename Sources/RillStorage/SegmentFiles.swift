import RillFormat

/// File names of a segment, Kafka's way: the base offset as 20 zero-padded digits, then
/// `.log`, `.index`, `.timeindex`; producer-state snapshots are `<offset>.snapshot`.
public enum SegmentFiles {
    public static let logSuffix = ".log"
    public static let offsetIndexSuffix = ".index"
    public static let timeIndexSuffix = ".timeindex"
    public static let snapshotSuffix = ".snapshot"
    /// Compaction writes a segment's replacement under this suffix first.
    public static let cleanedSuffix = ".cleaned"
    /// A cleaned segment that is complete and durable, waiting to replace the original.
    public static let swapSuffix = ".swap"
    /// A removed segment's file, renamed to be unlinked off the write path (Kafka's suffix).
    public static let deletedSuffix = ".deleted"

    /// `00000000000000000042` for offset 42.
    public static func name(for offset: Offset) -> String {
        let digits = String(offset.rawValue)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    public static func logPath(_ directory: String, _ baseOffset: Offset) -> String {
        FilePath.join(directory, name(for: baseOffset) + logSuffix)
    }

    public static func offsetIndexPath(_ directory: String, _ baseOffset: Offset) -> String {
        FilePath.join(directory, name(for: baseOffset) + offsetIndexSuffix)
    }

    public static func timeIndexPath(_ directory: String, _ baseOffset: Offset) -> String {
        FilePath.join(directory, name(for: baseOffset) + timeIndexSuffix)
    }

    public static func snapshotPath(_ directory: String, _ offset: Offset) -> String {
        FilePath.join(directory, name(for: offset) + snapshotSuffix)
    }

    /// The offset a file name starts with, when it is `<20 digits><suffix>`.
    public static func offset(fromName name: String, suffix: String) -> Offset? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.dropLast(suffix.count)
        guard stem.count == 20, stem.allSatisfy(\.isASCIIDigitCharacter), let value = Int64(stem) else { return nil }
        return Offset(value)
    }

    /// Why a batch at `position` cannot come next in the segment based at `segmentBase`, where
    /// `nextOffset` is the offset after the batch before it: offsets below the segment's base
    /// are a reused file's former batches, not yet cut off (storage.md); anything else is damage.
    static func outOfOrder(_ header: RecordBatchHeader, following nextOffset: Offset, segmentBase: Offset?, position: Int64) -> FormatError {
        if let segmentBase, header.lastOffset < segmentBase {
            return FormatError(.invalidRecord, "batch offsets \(header.baseOffset)...\(header.lastOffset) are below the segment's base \(segmentBase): bytes left from the file's former segment (a reused file not cut yet: a running broker's active segment, or one that stopped without closing)", position: position)
        }
        return FormatError(.invalidRecord, "batch offset \(header.baseOffset) does not follow \(nextOffset)", position: position)
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { asciiValue.map { $0 >= 48 && $0 <= 57 } ?? false }
}
