import Foundation
import RillChecker

/// `summary.json` of one run or one matrix cell.
public struct CellSummary: Codable, Sendable, Equatable {
    public var workload: String
    /// `name=value` of the matrix cell; empty without a matrix.
    public var parameters: [String: String]
    public var label: String
    public var target: String
    /// The fully resolved workload (every default filled in).
    public var config: WorkloadConfigJSON
    public var durationSeconds: Double
    public var publish: ThroughputSummary
    public var consume: ThroughputSummary
    public var publishLatencyMs: LatencySummary
    public var serviceTimeMs: LatencySummary
    public var publishDelayMs: LatencySummary
    public var endToEndLatencyMs: LatencySummary
    public var rateSearch: RateSearchOutcome?
    public var notes: [String]
    /// The cell's directory, relative to the run directory (matrix cells only).
    public var directory: String?
    /// The checker's verdict of a correctness run (details in verdict.json).
    public var verdict: VerdictSummary?
    /// The faults applied, in seconds after the producers started.
    public var faults: [FaultRecord]?

    public init(_ result: RunResult, directory: String?) {
        workload = result.cell.workload.name
        parameters = Dictionary(result.cell.parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        label = result.cell.label
        target = result.target
        config = WorkloadConfigJSON(result.cell.workload)
        durationSeconds = result.measuredSeconds
        publish = result.publish
        consume = result.consume
        publishLatencyMs = LatencySummary(microseconds: result.histograms.publish)
        serviceTimeMs = LatencySummary(microseconds: result.histograms.service)
        publishDelayMs = LatencySummary(microseconds: result.histograms.delay)
        endToEndLatencyMs = LatencySummary(microseconds: result.histograms.endToEnd)
        rateSearch = result.rateSearch
        notes = result.notes
        self.directory = directory
        verdict = result.check.map { VerdictSummary($0, finalRead: result.finalRead) }
        faults = result.faults.isEmpty ? nil : result.faults
    }
}

/// The verdict of a correctness run in summary.json: valid or not, and the anomalies found.
public struct VerdictSummary: Codable, Sendable, Equatable {
    /// The checker's verdict.
    public var valid: Bool
    /// Whether the final read reached every acknowledged offset (a run whose final read did
    /// not fails too: acknowledged data that never became readable again after the faults
    /// healed is a loss the checker alone cannot see when live consumers read it earlier).
    public var finalReadComplete: Bool
    /// Partitions the final read did not read up to their highest acknowledged offset.
    public var finalReadBehind: [String]
    /// Every anomaly found with its count (allowed ones included).
    public var anomalies: [String: Int]
    /// The anomalies that make the history invalid.
    public var invalidating: [String]
    public var history = "history.jsonl"
    public var verdict = "verdict.json"

    /// Whether the run passes: a valid history and a complete final read.
    public var passed: Bool { valid && finalReadComplete }

    public init(_ result: CheckResult, finalRead: FinalRead?) {
        valid = result.isValid
        finalReadComplete = finalRead?.isComplete ?? true
        finalReadBehind = finalRead?.behind ?? []
        anomalies = Dictionary(uniqueKeysWithValues: result.anomalies.map { ($0.key.rawValue, $0.value.count) })
        invalidating = result.invalidatingAnomalies.map(\.rawValue)
    }
}

/// The whole `summary.json`: the run's header, the single run's figures (flattened, as
/// `CellSummary`) or, for a matrix, one entry per cell.
public struct RunSummary: Codable, Sendable, Equatable {
    public var workload: String
    public var target: String
    public var startedAt: String
    public var git: RunEnvironment.Git
    public var machine: RunEnvironment.Machine
    /// Without a matrix: the run itself. With one: nil, see `cells`.
    public var run: CellSummary?
    public var cells: [CellSummary]

    public init(workload: String, target: String, environment: RunEnvironment, cells: [CellSummary], isMatrix: Bool) {
        self.workload = workload
        self.target = target
        startedAt = environment.startedAt
        git = environment.git
        machine = environment.machine
        run = isMatrix ? nil : cells.first
        self.cells = isMatrix ? cells : []
    }

    /// Every measured cell (the single run, or the matrix cells).
    public var allCells: [CellSummary] { run.map { [$0] } ?? cells }

    private enum HeaderKeys: String, CodingKey { case workload, target, startedAt, git, machine, cells, isMatrix }

    public func encode(to encoder: any Encoder) throws {
        // The single run's fields sit at the top level (summary.json's documented layout).
        if let run { try run.encode(to: encoder) }
        var container = encoder.container(keyedBy: HeaderKeys.self)
        try container.encode(workload, forKey: .workload)
        try container.encode(target, forKey: .target)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(git, forKey: .git)
        try container.encode(machine, forKey: .machine)
        if run == nil { try container.encode(cells, forKey: .cells) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: HeaderKeys.self)
        workload = try container.decode(String.self, forKey: .workload)
        target = try container.decode(String.self, forKey: .target)
        startedAt = try container.decode(String.self, forKey: .startedAt)
        git = try container.decode(RunEnvironment.Git.self, forKey: .git)
        machine = try container.decode(RunEnvironment.Machine.self, forKey: .machine)
        if container.contains(.cells) {
            cells = try container.decode([CellSummary].self, forKey: .cells)
            run = nil
        } else {
            cells = []
            run = try CellSummary(from: decoder)
        }
    }
}

/// The resolved workload as JSON (encoded from `Workload`, kept as a JSON value so that
/// `rill compare` can read summaries of any version).
public struct WorkloadConfigJSON: Codable, Sendable, Equatable {
    public var json: JSONValue

    public init(_ workload: Workload) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(workload)) ?? Data("{}".utf8)
        json = (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .object([:])
    }

    public init(from decoder: any Decoder) throws { json = try JSONValue(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }
}

/// Any JSON value.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
