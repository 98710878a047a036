/// The outcome of checking one history: the verdict, every anomaly found (with bounded
/// examples and a total count), and statistics. Deterministic: the same history and
/// configuration give the same result, byte for byte once written.
public struct CheckResult: Sendable, Equatable {
    /// False when an anomaly outside the configuration's allowed set was found.
    public var isValid: Bool
    /// Every anomaly found, allowed or not.
    public var anomalies: [AnomalyName: AnomalyReport]
    public var statistics: CheckStatistics
    public var configuration: CheckerConfiguration
    /// Remarks for the human report that are not anomalies (values read that no one sent,
    /// operations with an unknown `f`, a mode that looks wrong for the history).
    public var notes: [String]

    /// The anomalies found, by name.
    public var anomalyNames: [AnomalyName] { anomalies.keys.sorted() }

    /// Found anomalies that invalidate the history.
    public var invalidatingAnomalies: [AnomalyName] {
        anomalyNames.filter { !configuration.effectiveAllowedAnomalies.contains($0) }
    }

    /// Found anomalies that the configuration allows.
    public var allowedAnomaliesFound: [AnomalyName] {
        anomalyNames.filter { configuration.effectiveAllowedAnomalies.contains($0) }
    }
}

/// The occurrences of one anomaly: how many, and the first few in partition and offset order.
public struct AnomalyReport: Sendable, Equatable {
    public var count: Int
    public var examples: [AnomalyExample]
}

/// One occurrence of an anomaly, as the verdict lists it and the report explains it.
public struct AnomalyExample: Sendable, Equatable {
    /// The verdict's fields, in output order: partition, value(s), offset(s), process(es),
    /// time(s), index(es) and anomaly-specific details.
    public var fields: [ExampleField]
    /// One sentence for humans.
    public var summary: String
    /// The neighbourhood of the partition's log, for the report's picture.
    public var window: LogWindow?

    /// The value of field `key`, if present.
    public subscript(key: String) -> ExampleValue? {
        fields.first { $0.key == key }?.value
    }
}

public struct ExampleField: Sendable, Equatable {
    public var key: String
    public var value: ExampleValue
    public init(_ key: String, _ value: ExampleValue) {
        self.key = key
        self.value = value
    }
}

/// A JSON scalar or list in an example.
public enum ExampleValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case string(String)
    case integers([Int64])
    case strings([String])
}

/// Counts over the whole history.
public struct CheckStatistics: Sendable, Equatable {
    /// Lines with an event.
    public var events = 0
    /// Operations: invocations, plus crashes recorded without one.
    public var operations = 0
    public var processes = 0
    public var partitions = 0
    /// Distinct values sent or read.
    public var values = 0
    public var sendsOK = 0
    public var sendsFailed = 0
    /// Sends with an unknown outcome: `info`, cut short by a crash, or in flight at the end.
    public var sendsUnknown = 0
    public var recordsAcknowledged = 0
    public var pollsOK = 0
    public var recordsPolled = 0
    public var assigns = 0
    public var subscribes = 0
    public var commits = 0
    public var externalCommits = 0
    public var processesOK = 0
    public var recordsApplied = 0
    public var crashes = 0
    /// Operations still in flight when the history ended (counted as `info`).
    public var inFlightAtEnd = 0
    /// Events carrying a `rebalance` field.
    public var rebalances = 0
    /// Consumer jumps or rewinds across a rebalance, excused in subscribe mode.
    public var excusedByRebalance = 0
    /// Values read that no send ever carried.
    public var unknownValuesRead = 0
    /// Operations with an `f` this format does not define.
    public var ignoredOperations = 0
    /// Events whose time is before an earlier event's (a harness clock problem; noted only).
    public var timeReversals = 0

    /// The statistics as ordered (name, value) pairs, as the verdict lists them.
    public var fields: [(String, Int)] {
        [
            ("operations", operations), ("events", events), ("processes", processes), ("partitions", partitions),
            ("values", values), ("sends-ok", sendsOK), ("sends-failed", sendsFailed), ("sends-unknown", sendsUnknown),
            ("records-acknowledged", recordsAcknowledged), ("polls-ok", pollsOK), ("records-polled", recordsPolled),
            ("assigns", assigns), ("subscribes", subscribes), ("commits", commits), ("external-commits", externalCommits),
            ("processes-ok", processesOK), ("records-applied", recordsApplied), ("crashes", crashes),
            ("in-flight-at-end", inFlightAtEnd), ("rebalances", rebalances), ("excused-by-rebalance", excusedByRebalance),
            ("unknown-values-read", unknownValuesRead), ("ignored-operations", ignoredOperations), ("time-reversals", timeReversals),
        ]
    }
}

/// A few offsets of one partition around an anomaly, for the report's picture: what was
/// observed at each offset, whether its send was acknowledged, whether a consumer read it.
public struct LogWindow: Sendable, Equatable {
    public var partition: String
    /// Runs of consecutive offsets; the picture draws a break between runs.
    public var runs: [[LogCell]]
}

public struct LogCell: Sendable, Equatable {
    public enum Role: String, Sendable {
        /// Context around the anomaly.
        case context
        /// The offset the anomaly is about (the lost value, the duplicate, the conflict).
        case subject
        /// An offset a consumer jumped over.
        case skipped
        /// Where a transition started or ended (the polls' last and first records).
        case boundary
    }

    public var offset: Int64
    /// The value first observed at the offset, or nil when nothing was observed there.
    public var value: String?
    /// More than one value was observed at this offset.
    public var isInconsistent: Bool
    /// The value's send was acknowledged.
    public var isAcknowledged: Bool
    /// The value's send definitely failed.
    public var isFailed: Bool
    /// Some consumer returned the value from this partition.
    public var isRead: Bool
    public var role: Role
}
