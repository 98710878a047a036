/// What the console shows while a run goes: phase, elapsed/total, current rates and p99s.
public struct ProgressSnapshot: Sendable, Equatable {
    public var cellLabel: String
    public var phase: RunPhase
    public var elapsedSeconds: Double
    /// The planned length of the run (it may grow while a backlog drains).
    public var totalSeconds: Double
    public var row: TimelineRow?

    public init(cellLabel: String, phase: RunPhase, elapsedSeconds: Double, totalSeconds: Double, row: TimelineRow?) {
        self.cellLabel = cellLabel
        self.phase = phase
        self.elapsedSeconds = elapsedSeconds
        self.totalSeconds = totalSeconds
        self.row = row
    }

    /// One line, e.g. `[measuring 42/70 s] pub 1.21M rec/s 121.0 MB/s · con 1.20M rec/s · backlog 1.2k · p99 pub 3.1 ms e2e 4.0 ms`.
    public var line: String {
        var text = "\(cellLabel.isEmpty ? "" : cellLabel + " ")[\(phase.rawValue) \(Int(elapsedSeconds))/\(Int(totalSeconds.rounded(.up))) s]"
        guard let row else { return text }
        text += " pub \(SVGChart.compact(row.publishRate.rounded())) rec/s \(format(row.publishMegabytesPerSecond, digits: 1)) MB/s"
        text += " · con \(SVGChart.compact(row.consumeRate.rounded())) rec/s · backlog \(SVGChart.compact(row.backlog.rounded()))"
        text += " · p99 pub \(row.publishLatency.count > 0 ? format(row.publishLatency.p99, digits: 2) + " ms" : "—")"
        text += " e2e \(row.endToEndLatency.count > 0 ? format(row.endToEndLatency.p99, digits: 2) + " ms" : "—")"
        if row.publishErrorRate > 0 { text += " · errors \(SVGChart.compact(row.publishErrorRate))/s" }
        return text
    }
}

/// Prints progress: on a terminal one line rewritten in place every second; elsewhere (CI logs)
/// a plain line every `plainInterval` seconds and at each phase change.
public struct ProgressPrinter: Sendable {
    public let isTerminal: Bool
    public let plainIntervalSeconds: Double
    private var lastPlain: Double = -.infinity
    private var lastPhase: RunPhase?
    private let write: @Sendable (String) -> Void

    public init(isTerminal: Bool, plainIntervalSeconds: Double = 10, write: @escaping @Sendable (String) -> Void) {
        self.isTerminal = isTerminal
        self.plainIntervalSeconds = plainIntervalSeconds
        self.write = write
    }

    public mutating func show(_ snapshot: ProgressSnapshot) {
        if isTerminal {
            write("\r\u{1B}[K" + snapshot.line)
            return
        }
        guard snapshot.phase != lastPhase || snapshot.elapsedSeconds - lastPlain >= plainIntervalSeconds else { return }
        lastPhase = snapshot.phase
        lastPlain = snapshot.elapsedSeconds
        write(snapshot.line + "\n")
    }

    /// Ends the refreshing line (before other output).
    public func finish() {
        if isTerminal { write("\r\u{1B}[K") }
    }
}
