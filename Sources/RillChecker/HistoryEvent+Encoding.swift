extension HistoryEvent {
    /// The event as one line of history.jsonl (without the newline), in HISTORY-FORMAT.md's
    /// shape. `HistoryReader` reads it back to an equal event (except `line`).
    public func jsonLine() -> String {
        Self.jsonLine(index: index, time: time, body: jsonLineBody())
    }

    /// A line of history.jsonl from its `index`, its `time` and the rest of it, `body` (from
    /// `jsonLineBody()`). Lets a recorder encode the body before it takes the lock that orders
    /// events and gives them their index and time; the line is the same as `jsonLine()`'s.
    public static func jsonLine(index: Int64, time: Int64, body: String) -> String {
        "{\"index\": \(index), \"time\": \(time), " + body
    }

    /// The line after `index` and `time`: from `"process"` to the closing brace. Does not
    /// depend on `index`, `time` or `line`.
    public func jsonLineBody() -> String {
        var out = "\"process\": \(process.rawValue), \"type\": \"\(type.rawValue)\", \"f\": "
        out += JSONText.string(function.description)
        out += ", \"value\": "
        out += encodedValue()
        if let error { out += ", \"error\": " + JSONText.string(error) }
        if !rebalance.isEmpty {
            out += ", \"rebalance\": [" + rebalance.map { "[\(JSONText.string($0.kind)), \(JSONText.strings($0.partitions))]" }.joined(separator: ", ") + "]"
        }
        if isExternalStore { out += ", \"store\": \"external\"" }
        out += "}"
        return out
    }

    private func encodedValue() -> String {
        switch value {
        case .none:
            return function == .poll ? "[[\"poll\"]]" : "null"
        case .send(let records):
            return "[" + records.map { Self.encode($0, withOffset: type == .ok) }.joined(separator: ", ") + "]"
        case .poll(let partitions):
            return "[[\"poll\", " + Self.encode(partitions) + "]]"
        case .assign(let partitions, let seek):
            guard let seek else { return JSONText.strings(partitions) }
            return "[" + JSONText.strings(partitions) + ", \"\(seek.rawValue)\"]"
        case .subscribe(let topics):
            return JSONText.strings(topics)
        case .commit(let offsets):
            return Self.encode(offsets)
        case .process(let records, let offsets):
            return "{\"records\": " + Self.encode(records) + ", \"offsets\": " + Self.encode(offsets) + "}"
        }
    }

    /// `["send", p, v]`, or on an ok completion `["send", p, [offset or null, v]]`.
    private static func encode(_ record: SentRecord, withOffset: Bool) -> String {
        let value = JSONText.string(record.value)
        guard withOffset else { return "[\"send\", \(JSONText.string(record.partition)), \(value)]" }
        let offset = record.offset.map { String($0.rawValue) } ?? "null"
        return "[\"send\", \(JSONText.string(record.partition)), [\(offset), \(value)]]"
    }

    private static func encode(_ partitions: [PartitionRecords]) -> String {
        "{" + partitions.map { partition in
            JSONText.string(partition.partition) + ": [" + partition.records.map { "[\($0.offset.rawValue), \(JSONText.string($0.value))]" }.joined(separator: ", ") + "]"
        }.joined(separator: ", ") + "}"
    }

    private static func encode(_ offsets: [PartitionOffset]) -> String {
        "{" + offsets.map { "\(JSONText.string($0.partition)): \($0.offset.rawValue)" }.joined(separator: ", ") + "}"
    }
}
