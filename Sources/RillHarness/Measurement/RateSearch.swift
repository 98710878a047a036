/// Finds the highest sustainable rate for `producerRate: 0`, as a state machine fed one
/// observation per second (no clock of its own).
///
/// A rate is held for `stepSeconds`; it is sustainable when
/// - the producers achieved at least 98% of it over the step's seconds after its first (which
///   still carries the previous rate's acknowledgements) — a producer short by a few percent
///   falls further behind every second, and its latency grows without bound over a long
///   measured phase;
/// - the p99 publish latency (from the intended send time) of the step's last second stayed
///   under `latencyLimitMs`;
/// - the backlog (published but not yet consumed) ended under `backlogLimitSeconds` of the
///   rate or shrank during the step;
/// - and the consumers kept up: over the same seconds the backlog grew by less than 2% of the
///   rate per second (or stayed under a tenth of a second of it, where a fetch in flight is
///   noise). Consumers a fifth short fill a second's backlog only after five seconds — a step
///   of three passes, and the measured phase then reports a consume rate far below the
///   publish rate.
///
/// The search doubles the rate while it is sustainable, then bisects (geometrically) between the
/// best sustainable and the first unsustainable rate until they are within `precision`. After an
/// unsustainable step the rate drops to half the best sustainable one for a step that is not
/// judged, so the next rate starts from a drained system, not from the queues the overload left
/// behind (so does the measured phase). Every step's verdict and reason is kept in `decisions`,
/// so a report can say how the rate was chosen.
public struct RateSearch: Sendable {
    public struct Observation: Sendable, Equatable {
        /// The rate asked of all producers together (records/s).
        public var targetRate: Double
        /// Records acknowledged in this second, all producers.
        public var publishedRecords: Double
        /// Published and not yet consumed, summed over subscriptions, at the end of the second.
        public var backlogRecords: Double
        /// p99 publish latency of the records acknowledged in this second, in ms.
        public var publishP99Milliseconds: Double

        public init(targetRate: Double, publishedRecords: Double, backlogRecords: Double, publishP99Milliseconds: Double) {
            self.targetRate = targetRate
            self.publishedRecords = publishedRecords
            self.backlogRecords = backlogRecords
            self.publishP99Milliseconds = publishP99Milliseconds
        }
    }

    /// One step's verdict.
    public struct Decision: Codable, Sendable, Equatable {
        public var rate: Double
        public var achievedRate: Double
        public var backlogAtStart: Double
        public var backlogAtEnd: Double
        public var publishP99Milliseconds: Double
        public var isSustainable: Bool
        public var reason: String
    }

    public enum Action: Sendable, Equatable {
        case hold
        case setRate(Double)
        /// The search is over: measure at this rate.
        case finished(Double)
    }

    /// The share of a rate the producers must achieve for it to be sustainable.
    static let minimumAchievedFraction = 0.98
    /// A backlog under this many seconds of the rate is not counted as consumers falling behind.
    static let backlogNoiseSeconds = 0.1

    /// Whether consumers fell behind `rate` (records/s published for them): their backlog grew
    /// by more than the producers may fall short (2% of the rate per second) and is more than
    /// a fetch in flight. The search's rule for a step, and the measured phase's for its note.
    static func consumersFellBehind(backlogGrowthPerSecond growth: Double, backlog: Double, rate: Double) -> Bool {
        growth > (1 - minimumAchievedFraction) * rate && backlog > backlogNoiseSeconds * rate
    }

    public let settings: RateSearchSettings
    public private(set) var currentRate: Double
    public private(set) var decisions: [Decision] = []
    public private(set) var isFinished = false
    private var highestSustainable: Double?
    private var lowestUnsustainable: Double?
    private var step: [Observation] = []
    private var backlogAtStepStart = 0.0
    /// The rate to try once the recovery step after an unsustainable one is over.
    private var pendingAfterRecovery: Action?

    public init(settings: RateSearchSettings) {
        self.settings = settings
        currentRate = settings.initialRate
    }

    /// Feeds one second; says whether to keep the rate, change it, or stop.
    public mutating func observe(_ observation: Observation) -> Action {
        guard !isFinished else { return .hold }
        step.append(observation)
        guard Double(step.count) >= settings.stepSeconds.rounded(.up) else { return .hold }
        if let pending = pendingAfterRecovery {
            pendingAfterRecovery = nil
            step = []
            backlogAtStepStart = observation.backlogRecords
            if case .setRate(let rate) = pending { currentRate = rate }
            if case .finished(let rate) = pending {
                currentRate = rate
                isFinished = true
            }
            return pending
        }
        let decision = judge(step)
        decisions.append(decision)
        backlogAtStepStart = observation.backlogRecords
        step = []
        if decision.isSustainable {
            highestSustainable = max(highestSustainable ?? 0, decision.rate)
            return next()
        }
        lowestUnsustainable = min(lowestUnsustainable ?? .infinity, decision.rate)
        let proposal = next()
        let recoveryRate = ((highestSustainable ?? decision.rate / 2) / 2).rounded()
        guard recoveryRate >= 1 else { return proposal }
        pendingAfterRecovery = proposal
        if case .finished = proposal { isFinished = false }
        currentRate = recoveryRate
        return .setRate(recoveryRate)
    }

    /// Whether the current step only lets the system drain (not judged).
    public var isRecovering: Bool { pendingAfterRecovery != nil }

    private func judge(_ step: [Observation]) -> Decision {
        let rate = currentRate
        let judged = step.count > 1 ? step.dropFirst() : step[...]
        let achieved = judged.map(\.publishedRecords).reduce(0, +) / Double(judged.count)
        let last = step[step.count - 1]
        let backlogLimit = settings.backlogLimitSeconds * rate
        var reasons: [String] = []
        if achieved < Self.minimumAchievedFraction * rate {
            reasons.append(String(format: "producers achieved %.0f of %.0f records/s (< %.0f%%)", achieved, rate, Self.minimumAchievedFraction * 100))
        }
        if last.publishP99Milliseconds > settings.latencyLimitMs {
            reasons.append(String(format: "p99 publish latency %.2f ms > %.2f ms", last.publishP99Milliseconds, settings.latencyLimitMs))
        }
        if last.backlogRecords > backlogLimit && last.backlogRecords >= backlogAtStepStart {
            reasons.append(String(format: "backlog %.0f records > %.0f (%.1f s of the rate) and not shrinking", last.backlogRecords, backlogLimit, settings.backlogLimitSeconds))
        }
        let backlogBefore = step.count > 1 ? step[0].backlogRecords : backlogAtStepStart
        let growth = (last.backlogRecords - backlogBefore) / Double(judged.count)
        if Self.consumersFellBehind(backlogGrowthPerSecond: growth, backlog: last.backlogRecords, rate: rate) {
            reasons.append(String(format: "consumers fell behind: the backlog grew %.0f records/s (> %.0f%% of the rate)", growth, (1 - Self.minimumAchievedFraction) * 100))
        }
        let reason = reasons.isEmpty
            ? String(format: "sustainable: achieved %.0f records/s, p99 %.2f ms, backlog %.0f records", achieved, last.publishP99Milliseconds, last.backlogRecords)
            : reasons.joined(separator: "; ")
        return Decision(rate: rate, achievedRate: achieved, backlogAtStart: backlogAtStepStart, backlogAtEnd: last.backlogRecords,
                        publishP99Milliseconds: last.publishP99Milliseconds, isSustainable: reasons.isEmpty, reason: reason)
    }

    private mutating func next() -> Action {
        let lower = highestSustainable
        let upper = lowestUnsustainable
        var proposal: Double
        if let upper {
            guard let lower else {
                // Nothing sustainable yet: halve.
                proposal = upper / 2
                if proposal < 1 { return finish(0) }
                return move(to: proposal)
            }
            if upper / lower - 1 <= settings.precision { return finish(lower) }
            proposal = (lower * upper).squareRoot()
        } else {
            let current = lower ?? currentRate
            if current >= settings.maximumRate { return finish(current) }
            proposal = min(current * 2, settings.maximumRate)
        }
        if decisions.count >= settings.maximumSteps { return finish(lower ?? 0) }
        return move(to: proposal)
    }

    private mutating func move(to rate: Double) -> Action {
        if decisions.count >= settings.maximumSteps { return finish(highestSustainable ?? 0) }
        currentRate = rate.rounded()
        return .setRate(currentRate)
    }

    private mutating func finish(_ rate: Double) -> Action {
        isFinished = true
        currentRate = rate.rounded()
        return .finished(currentRate)
    }
}
