/// Bad input in a workload: which file (or `--set`), where, which field, and why.
public struct WorkloadError: Error, Equatable, CustomStringConvertible {
    /// The workload file, or `--set` for a command-line override.
    public var source: String
    /// 1-based line in the file, when known.
    public var line: Int?
    /// The field's path (`producerRate`, `keyDistribution.exponent`), empty for the whole file.
    public var field: String
    public var reason: String

    public init(source: String, line: Int? = nil, field: String, reason: String) {
        self.source = source
        self.line = line
        self.field = field
        self.reason = reason
    }

    public var description: String {
        let location = line.map { "\(source):\($0)" } ?? source
        return field.isEmpty ? "\(location): \(reason)" : "\(location): \(field): \(reason)"
    }
}
