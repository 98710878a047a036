import Foundation
import RillChecker

/// Records and bytes moved in the measured phase.
public struct ThroughputSummary: Codable, Sendable, Equatable {
    public var records: Int64
    public var bytes: Int64
    public var recordsPerSecond: Double
    public var megabytesPerSecond: Double
    public var errors: Int64

    public static let zero = ThroughputSummary(records: 0, bytes: 0, recordsPerSecond: 0, megabytesPerSecond: 0, errors: 0)

    public init(records: Int64, bytes: Int64, recordsPerSecond: Double, megabytesPerSecond: Double, errors: Int64) {
        self.records = records
        self.bytes = bytes
        self.recordsPerSecond = recordsPerSecond
        self.megabytesPerSecond = megabytesPerSecond
        self.errors = errors
    }

    /// Rates over `seconds` (MB = 10^6 bytes).
    public init(records: Int64, bytes: Int64, errors: Int64, seconds: Double) {
        let divisor = seconds > 0 ? seconds : 1
        self.init(records: records, bytes: bytes, recordsPerSecond: Double(records) / divisor,
                  megabytesPerSecond: Double(bytes) / divisor / 1e6, errors: errors)
    }
}

/// What the driver measured in one run (one workload, or one matrix cell).
public struct RunResult: Sendable {
    public var cell: WorkloadCell
    public var target: String
    /// Seconds of the measured phase.
    public var measuredSeconds: Double
    public var publish: ThroughputSummary
    public var consume: ThroughputSummary
    /// Histograms of the measured phase (microseconds).
    public var histograms: LatencyHistograms
    public var timeline: [TimelineRow]
    /// The `producerRate: 0` search, when it ran.
    public var rateSearch: RateSearchOutcome?
    /// Things a reader of the results must know (a drain that did not finish, errors, …).
    public var notes: [String]
    /// The checker's verdict on the history of a correctness run (`checks:`).
    public var check: CheckResult?
    /// The final read of a correctness run.
    public var finalRead: FinalRead?
    /// The faults the nemesis applied (`faults:`).
    public var faults: [FaultRecord] = []

    public init(cell: WorkloadCell, target: String, measuredSeconds: Double, publish: ThroughputSummary, consume: ThroughputSummary,
                histograms: LatencyHistograms, timeline: [TimelineRow], rateSearch: RateSearchOutcome?, notes: [String]) {
        self.cell = cell
        self.target = target
        self.measuredSeconds = measuredSeconds
        self.publish = publish
        self.consume = consume
        self.histograms = histograms
        self.timeline = timeline
        self.rateSearch = rateSearch
        self.notes = notes
    }
}

/// How `producerRate: 0` chose the rate it measured at.
public struct RateSearchOutcome: Codable, Sendable, Equatable {
    public var chosenRate: Double
    public var settings: RateSearchSettings
    public var decisions: [RateSearch.Decision]

    public init(chosenRate: Double, settings: RateSearchSettings, decisions: [RateSearch.Decision]) {
        self.chosenRate = chosenRate
        self.settings = settings
        self.decisions = decisions
    }
}

/// The machine and code a run was measured on.
public struct RunEnvironment: Codable, Sendable, Equatable {
    public struct Git: Codable, Sendable, Equatable {
        public var commit: String
        public var isDirty: Bool
        public var branch: String

        public init(commit: String, isDirty: Bool, branch: String) {
            self.commit = commit
            self.isDirty = isDirty
            self.branch = branch
        }
    }

    public struct Machine: Codable, Sendable, Equatable {
        public var cores: Int
        public var memoryBytes: UInt64
        public var kernel: String
        public var architecture: String

        public init(cores: Int, memoryBytes: UInt64, kernel: String, architecture: String) {
            self.cores = cores
            self.memoryBytes = memoryBytes
            self.kernel = kernel
            self.architecture = architecture
        }
    }

    public var git: Git
    public var machine: Machine
    /// ISO 8601, UTC.
    public var startedAt: String

    public init(git: Git, machine: Machine, startedAt: String) {
        self.git = git
        self.machine = machine
        self.startedAt = startedAt
    }
}
