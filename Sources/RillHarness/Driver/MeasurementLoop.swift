import Foundation

/// A driver the measurement loop can run: tasks that record into `TaskStatistics`.
public protocol MeasuredDriver: Sendable {
    /// Every task's statistics (producers and consumers).
    var allStatistics: [TaskStatistics] { get }
    /// Whether consumers are ready (partitions assigned); producers start only then.
    var isReady: Bool { get }
    /// Runs every task until `control.stop()`; producers wait for `control.startProducing()`.
    func run(control: DriverControl) async
}

/// The phases of one run, driven by one sample per second: preparing (until the driver is
/// ready), the maximum-rate search (`producerRate: 0`), warm-up, building a backlog
/// (`consumerBacklogSizeGB`), the measured phase (extended while the backlog drains), and a
/// final drain. Merges the tasks' statistics each second into the timeline, the measured
/// histograms and OMB's 10-second windows.
public struct MeasurementLoop {
    /// How long the final drain may take (consumers reading what producers sent last).
    static let finalDrainLimitSeconds = 30.0
    /// Bound on building a backlog beyond the time the rate needs for it.
    static let backlogSlackSeconds = 60.0
    /// The measured phase of a backlog test may grow to this many times its length while draining.
    static let maximumDrainExtension = 10.0

    public let cell: WorkloadCell
    public let target: String
    public var progress: (ProgressSnapshot) -> Void

    public init(cell: WorkloadCell, target: String, progress: @escaping (ProgressSnapshot) -> Void) {
        self.cell = cell
        self.target = target
        self.progress = progress
    }

    /// Runs the phases; returns the result and OMB's windows.
    public func run(_ driver: some MeasuredDriver) async throws -> ResultWriter.CellOutput {
        let workload = cell.workload
        let control = DriverControl(start: MonotonicClock.now(), rate: workload.producerRate > 0 ? workload.producerRate : workload.rateSearch.initialRate)
        // The driver's tasks run in a task this loop owns; it waits for them after stopping, but
        // at most `shutdownTimeout`, so a client that never finishes cannot hang the run.
        let tasks = Task { await driver.run(control: control) }
        do {
            try await waitUntilReady(driver)
            var state = LoopState(workload: workload)
            control.startProducing()
            var output = try await sample(driver, control: control, state: &state)
            control.stop()
            if !(await finishes(within: DriverControl.shutdownTimeout, { await tasks.value })) {
                output.result.notes.append("the driver's tasks did not stop within \(DriverControl.shutdownTimeout) of the end")
            }
            var late = IntervalData()
            for statistics in driver.allStatistics { late.add(statistics.take()) }
            if let error = late.firstError { output.result.notes.append("error: \(error)") }
            return output
        } catch {
            control.stop()
            tasks.cancel()
            _ = await finishes(within: DriverControl.shutdownTimeout) { await tasks.value }
            throw error
        }
    }

    private func waitUntilReady(_ driver: some MeasuredDriver) async throws {
        let deadline = ContinuousClock.now + ClientDriver.readinessTimeout
        while !driver.isReady {
            guard ContinuousClock.now < deadline else {
                throw HarnessError("consumers got no partitions within \(ClientDriver.readinessTimeout) (is group coordination working on the target?)")
            }
            progress(ProgressSnapshot(cellLabel: cell.parameters.isEmpty ? "" : cell.label, phase: .preparing, elapsedSeconds: 0, totalSeconds: 0, row: nil))
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The per-second loop; returns when the run is over.
    private func sample(_ driver: some MeasuredDriver, control: DriverControl, state: inout LoopState) async throws -> ResultWriter.CellOutput {
        let clock = ContinuousClock()
        let start = clock.now
        var previous = start
        var tick = 0
        while !state.isFinished {
            tick += 1
            try await Task.sleep(until: start + .seconds(tick), clock: clock)
            let now = clock.now
            let seconds = (now - previous).seconds
            previous = now
            var data = IntervalData()
            for statistics in driver.allStatistics { data.add(statistics.take()) }
            let row = state.record(data, seconds: seconds, elapsed: (now - start).seconds, targetRate: control.rate ?? 0)
            state.advance(control: control, row: row)
            progress(ProgressSnapshot(cellLabel: cell.parameters.isEmpty ? "" : cell.label, phase: row.phase, elapsedSeconds: (now - start).seconds,
                                      totalSeconds: state.plannedSeconds((now - start).seconds), row: row))
        }
        return state.output(cell: cell, target: target)
    }
}

/// The loop's bookkeeping, apart from the clock: totals, phases and their transitions.
struct LoopState {
    let workload: Workload
    var phase: RunPhase
    var phaseSeconds = 0.0
    var search: RateSearch?
    var timeline: [TimelineRow] = []
    var measured = IntervalData()
    var measuredSeconds = 0.0
    var window = IntervalData()
    var windowSeconds = 0.0
    var windowTimeline: [TimelineRow] = []
    var totalPublished: Int64 = 0
    var totalPublishedBytes: Int64 = 0
    var totalConsumed: Int64 = 0
    /// The backlog when the measured phase began (set on entering it; a run that starts
    /// measured starts with none).
    var backlogAtMeasureStart = 0.0
    var notes: [String] = []
    var errors: Set<String> = []
    var isFinished = false

    init(workload: Workload) {
        self.workload = workload
        if workload.producerRate == 0 {
            search = RateSearch(settings: workload.rateSearch)
            phase = .rateSearch
        } else {
            phase = workload.warmupPhaseSeconds > 0 ? .warmup : (workload.consumerBacklogSizeGB > 0 ? .backlog : .measuring)
        }
    }

    var backlog: Double { max(0, Double(totalPublished) * Double(workload.subscriptionsPerTopic) - Double(totalConsumed)) }

    /// Adds one second's data; returns its timeline row.
    mutating func record(_ data: IntervalData, seconds: Double, elapsed: Double, targetRate: Double) -> TimelineRow {
        totalPublished += data.publishedRecords
        totalPublishedBytes += data.publishedBytes
        totalConsumed += data.consumedRecords
        if let error = data.firstError, errors.count < 5, errors.insert(error).inserted { notes.append("error: \(error)") }
        let row = TimelineRow(second: (elapsed * 10).rounded() / 10, phase: phase, targetRate: phase == .draining ? 0 : targetRate,
                              data: data, seconds: max(seconds, 1e-3), backlog: backlog)
        timeline.append(row)
        if phase == .measuring {
            measured.add(data)
            measuredSeconds += seconds
            window.add(data)
            windowSeconds += seconds
            if windowSeconds >= 9.95 { closeWindow() }
        }
        phaseSeconds += seconds
        return row
    }

    private mutating func closeWindow() {
        guard windowSeconds > 0.5 else { return }
        windowTimeline.append(TimelineRow(second: measuredSeconds, phase: .measuring, targetRate: 0, data: window, seconds: windowSeconds, backlog: backlog))
        window = IntervalData()
        windowSeconds = 0
    }

    /// Moves to the next phase when this one is done.
    mutating func advance(control: DriverControl, row: TimelineRow) {
        switch phase {
        case .preparing:
            break
        case .rateSearch:
            let observation = RateSearch.Observation(targetRate: row.targetRate, publishedRecords: row.publishRate, backlogRecords: backlog,
                                                     publishP99Milliseconds: row.publishLatency.p99)
            switch search?.observe(observation) {
            case .setRate(let rate)?: control.setRate(rate)
            case .finished(let rate)?:
                if rate <= 0 { notes.append("the maximum-rate search found no sustainable rate; measured at the lowest rate tried") }
                control.setRate(max(rate, 1))
                enter(workload.warmupPhaseSeconds > 0 ? .warmup : .measuring, control: control)
            default: break
            }
        case .warmup:
            if phaseSeconds >= workload.warmupPhaseSeconds - 0.05 {
                enter(workload.consumerBacklogSizeGB > 0 ? .backlog : .measuring, control: control)
            }
        case .backlog:
            let targetBytes = workload.consumerBacklogSizeGB * 1e9
            let bytesPerRecord = totalPublished > 0 ? Double(totalPublishedBytes) / Double(totalPublished) : Double(max(1, workload.messageSize))
            let needed = targetBytes / max(1, (control.rate ?? 1) * bytesPerRecord) + MeasurementLoop.backlogSlackSeconds
            if backlog * bytesPerRecord >= targetBytes || phaseSeconds >= needed {
                if backlog * bytesPerRecord < targetBytes {
                    notes.append(String(format: "the backlog reached %.3f GB of %.3f GB before the time limit; draining from there", backlog * bytesPerRecord / 1e9, targetBytes / 1e9))
                }
                enter(.measuring, control: control)
            }
        case .measuring:
            advanceMeasuring(control: control)
        case .draining:
            if backlog <= 0 || phaseSeconds >= MeasurementLoop.finalDrainLimitSeconds {
                if backlog > 0 { notes.append(String(format: "%.0f records were still unread %.0f s after the producers stopped", backlog, phaseSeconds)) }
                isFinished = true
            }
        }
    }

    private mutating func advanceMeasuring(control: DriverControl) {
        guard phaseSeconds >= workload.measuredSeconds - 0.05 else { return }
        if workload.consumerBacklogSizeGB > 0 {
            let remaining = backlogAtMeasureStart * (1 - workload.backlogDrainRatio)
            let isDrained = backlog <= remaining
            if !isDrained && phaseSeconds < workload.measuredSeconds * MeasurementLoop.maximumDrainExtension { return }
            if !isDrained { notes.append(String(format: "the backlog was not drained to %.0f%% within %.0f s", workload.backlogDrainRatio * 100, phaseSeconds)) }
        } else if workload.subscriptionsPerTopic > 0, phaseSeconds > 0 {
            noteIfConsumersFellBehind()
        }
        if windowSeconds > 0 { closeWindow() }
        enter(workload.subscriptionsPerTopic > 0 ? .draining : .measuring, control: control)
        control.stopProducers()
        if workload.subscriptionsPerTopic == 0 { isFinished = true }
    }

    /// A measured phase whose backlog grew by more than the rate search tolerates (2% of the
    /// rate) reports consume figures below the publish figures: said in the notes, so that a
    /// reader does not take the publish rate for one the consumers sustained. (A search step is
    /// a few seconds; the measured phase can find out later that a rate was too high.)
    private mutating func noteIfConsumersFellBehind() {
        let growth = (backlog - backlogAtMeasureStart) / phaseSeconds
        let delivered = Double(measured.publishedRecords) * Double(workload.subscriptionsPerTopic) / phaseSeconds
        guard RateSearch.consumersFellBehind(backlogGrowthPerSecond: growth, backlog: backlog, rate: delivered) else { return }
        notes.append(String(format: "consumers fell behind in the measured phase: the backlog grew from %.0f to %.0f records, %.0f records/s (%.1f%% of what was published for them); the consume figures are what they kept up with",
                            backlogAtMeasureStart, backlog, growth, growth / delivered * 100))
    }

    private mutating func enter(_ next: RunPhase, control: DriverControl) {
        phase = next
        phaseSeconds = 0
        switch next {
        case .backlog: control.setConsumersPaused(true)
        case .measuring:
            backlogAtMeasureStart = backlog
            if workload.consumerBacklogSizeGB > 0 {
                control.setConsumersPaused(false)
                if let drainRate = workload.drainProducerRate { control.setRate(drainRate > 0 ? drainRate : nil) }
            }
        default: break
        }
    }

    /// An estimate of the run's length, for the progress line.
    func plannedSeconds(_ elapsed: Double) -> Double {
        switch phase {
        case .preparing, .rateSearch: elapsed + workload.warmupPhaseSeconds + workload.measuredSeconds
        case .warmup: elapsed - phaseSeconds + workload.warmupPhaseSeconds + workload.measuredSeconds
        case .backlog: elapsed + workload.measuredSeconds
        case .measuring: max(elapsed, elapsed - phaseSeconds + workload.measuredSeconds)
        case .draining: elapsed
        }
    }

    func output(cell: WorkloadCell, target: String) -> ResultWriter.CellOutput {
        let publish = ThroughputSummary(records: measured.publishedRecords, bytes: measured.publishedBytes, errors: measured.publishErrors, seconds: measuredSeconds)
        let consume = ThroughputSummary(records: measured.consumedRecords, bytes: measured.consumedBytes, errors: measured.consumeErrors, seconds: measuredSeconds)
        let outcome = search.map { RateSearchOutcome(chosenRate: $0.currentRate, settings: $0.settings, decisions: $0.decisions) }
        let result = RunResult(cell: cell, target: target, measuredSeconds: measuredSeconds, publish: publish, consume: consume,
                               histograms: measured.histograms, timeline: timeline, rateSearch: outcome, notes: notes)
        return ResultWriter.CellOutput(result: result, ombWindows: windowTimeline)
    }
}

extension TimelineRow {
    /// The row for `data` gathered over `seconds` (rates are per second of it).
    init(second: Double, phase: RunPhase, targetRate: Double, data: IntervalData, seconds: Double, backlog: Double) {
        self.init(
            second: second, phase: phase, targetRate: targetRate, publishRate: Double(data.publishedRecords) / seconds,
            publishMegabytesPerSecond: Double(data.publishedBytes) / seconds / 1e6, publishErrorRate: Double(data.publishErrors) / seconds,
            consumeRate: Double(data.consumedRecords) / seconds, consumeMegabytesPerSecond: Double(data.consumedBytes) / seconds / 1e6,
            backlog: backlog, publishLatency: LatencySummary(microseconds: data.histograms.publish),
            serviceTime: LatencySummary(microseconds: data.histograms.service), publishDelay: LatencySummary(microseconds: data.histograms.delay),
            endToEndLatency: LatencySummary(microseconds: data.histograms.endToEnd))
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
