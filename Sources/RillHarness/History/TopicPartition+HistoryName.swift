import RillProtocol

extension TopicPartition {
    /// HISTORY-FORMAT.md's partition name, `<topic>-<partition>`: how the history, the
    /// exactly-once store and the checker name a partition.
    var historyName: String { "\(topic)-\(partition)" }
}
