import Foundation
import RillClient
import Yams

/// Decodes a workload's YAML mapping into a `Workload`, field by field, with errors that say
/// where (file and line, or the `--set` that gave the value), which field and why.
struct NodeReader {
    let file: String
    /// Field path → where its value came from, when not from the file (`--set …`, a matrix).
    let origins: [String: String]
    /// The workload file's directory, for relative `payloadFile` paths.
    let directory: String
    let readFile: (String) throws -> [UInt8]

    /// Every top-level field a workload may have.
    static let fieldNames: [String] = [
        "name", "topics", "partitionsPerTopic", "messageSize", "payloadFile", "useRandomizedPayloads", "randomBytesRatio",
        "randomizedPayloadPoolSize", "keyDistributor", "subscriptionsPerTopic", "consumerPerSubscription", "producersPerTopic",
        "producerRate", "consumerBacklogSizeGB", "backlogDrainRatio", "testDurationMinutes", "warmupDurationMinutes",
        "replicationFactor", "acks", "idempotence", "batchSize", "lingerMs", "compression", "keyDistribution", "target",
        "durationSeconds", "warmupSeconds", "seed", "topicConfig", "producerConfig", "consumerConfig", "brokerConfig",
        "drainProducerRate", "rateSearch", "stampPayloads", "clientThreads", "dataDirectory", "matrix", "checks", "faults",
        "exactlyOnce",
    ]
    /// Fields whose value is a mapping of free-form names (Kafka properties): in a path the rest
    /// after the first dot is one key (`topicConfig.retention.ms`).
    static let propertyMaps: Set<String> = ["topicConfig", "producerConfig", "consumerConfig", "brokerConfig"]
    /// Producer properties that typed fields set.
    static let typedProducerProperties: [String: String] = [
        "acks": "acks", "enable.idempotence": "idempotence", "batch.size": "batchSize", "linger.ms": "lingerMs",
        "compression.type": "compression",
    ]

    /// `a.b.c` → path components; property maps keep the rest as one key.
    static func path(of key: String) -> [String] {
        let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return parts }
        return propertyMaps.contains(parts[0]) ? parts : [parts[0]] + parts[1].split(separator: ".").map(String.init)
    }

    /// ` (did you mean 'x'?)` for a near miss, else empty.
    static func suggestion(for name: String, among names: [String] = fieldNames) -> String {
        let best = names.map { ($0, editDistance($0.lowercased(), name.lowercased())) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, name.count / 3) else { return "" }
        return " (did you mean '\(best.0)'?)"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    // MARK: Errors

    func error(_ field: String, _ node: Node?, _ reason: String) -> WorkloadError {
        let top = Self.path(of: field).first ?? field
        if let origin = origins[field] ?? origins[top] {
            return WorkloadError(source: origin, field: field, reason: reason)
        }
        return WorkloadError(source: file, line: node?.mark?.line, field: field, reason: reason)
    }

    // MARK: Scalars

    func scalar(_ field: String, _ node: Node) throws(WorkloadError) -> String {
        guard case .scalar(let scalar) = node else { throw error(field, node, "must be a single value, not a list or mapping") }
        return scalar.string
    }

    func integer(_ field: String, _ node: Node, in range: ClosedRange<Int>) throws(WorkloadError) -> Int {
        let text = try scalar(field, node).replacingOccurrences(of: "_", with: "")
        let value: Int
        if let exact = Int(text) {
            value = exact
        } else if let double = Double(text), double.rounded() == double, abs(double) < 9e18 {
            value = Int(double)  // 1e6
        } else {
            throw error(field, node, "must be an integer, not '\(text)'")
        }
        guard range.contains(value) else { throw error(field, node, "must be between \(range.lowerBound) and \(range.upperBound), not \(value)") }
        return value
    }

    func number(_ field: String, _ node: Node, in range: ClosedRange<Double>) throws(WorkloadError) -> Double {
        let text = try scalar(field, node).replacingOccurrences(of: "_", with: "")
        guard let value = Double(text), value.isFinite else { throw error(field, node, "must be a number, not '\(text)'") }
        guard range.contains(value) else { throw error(field, node, "must be between \(range.lowerBound) and \(range.upperBound), not \(text)") }
        return value
    }

    func boolean(_ field: String, _ node: Node) throws(WorkloadError) -> Bool {
        switch try scalar(field, node).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw error(field, node, "must be true or false, not '\(other)'")
        }
    }

    func choice<Value: RawRepresentable & CaseIterable>(_ field: String, _ node: Node, _: Value.Type) throws(WorkloadError) -> Value where Value.RawValue == String {
        let text = try scalar(field, node)
        if let value = Value.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) { return value }
        throw error(field, node, "must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
    }

    func properties(_ field: String, _ node: Node) throws(WorkloadError) -> [String: String] {
        guard case .mapping(let mapping) = node else { throw error(field, node, "must be a mapping of Kafka property names to values") }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            let name = try scalar(field, key)
            result[name] = try scalar("\(field).\(name)", value)
        }
        return result
    }

    func mapping(_ field: String, _ node: Node, allowed: [String]) throws(WorkloadError) -> [(String, Node)] {
        guard case .mapping(let mapping) = node else { throw error(field, node, "must be a mapping") }
        var result: [(String, Node)] = []
        for (key, value) in mapping {
            let name = try scalar(field, key)
            guard allowed.contains(name) else {
                throw error("\(field).\(name)", key, "unknown field; \(field) takes \(allowed.joined(separator: ", "))\(Self.suggestion(for: name, among: allowed))")
            }
            result.append((name, value))
        }
        return result
    }
}
