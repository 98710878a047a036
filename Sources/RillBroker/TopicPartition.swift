/// A partition of a topic, Kafka's `TopicPartition`; printed as Kafka prints it, `topic-3`.
public struct TopicPartition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)-\(partition)" }

    /// The partition's directory name under the data directory, as Kafka names it.
    public var directoryName: String { description }
}

/// Kafka's topic-name rules: 1–249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
public enum TopicName {
    public static let maximumLength = 249

    /// Why `name` is not a legal topic name, or nil when it is.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "topic name is empty" }
        if name == "." || name == ".." { return "topic name cannot be '.' or '..'" }
        if name.utf8.count > maximumLength { return "topic name is longer than \(maximumLength) characters" }
        let legal = name.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
        return legal ? nil : "topic name '\(name)' has characters other than ASCII letters, digits, '.', '_' and '-'"
    }
}
