import Foundation
import RillChecker
import RillFormat
import RillNemesis
import Synchronization

/// A fault as it happened, for summary.json and the shaded bands of the report's time charts.
public struct FaultRecord: Codable, Sendable, Equatable {
    public var kind: String
    public var target: String
    /// Seconds after the producers started (the time charts' origin, give or take a sample).
    public var start: Double
    public var end: Double
    /// What exactly was done (the corrupted byte, a restart that failed, …).
    public var detail: String?
}

/// Applies a workload's faults (`faults:`) while its clients run, one at a time in schedule
/// order: a fault due while another is active starts when that one heals. Every fault is
/// recorded in the history as `f: "nemesis"` of process -1 — `invoke` when it is applied, `info`
/// when it has healed — and every fault still active when the producers stop is healed then,
/// so the final read runs against a whole system.
///
/// Broker faults act on the embedded cluster's child processes (kill -9 and restart on the same
/// port and data, SIGSTOP and SIGCONT, a byte flipped in a closed segment while the broker is
/// down); link faults on the fault proxies every client connects through; a client crash asks
/// the driver's client to abandon itself.
final class Nemesis: Sendable {
    let events: [FaultEvent]
    let cluster: EmbeddedCluster?
    let proxies: [FaultProxy]
    let recorder: HistoryRecorder
    /// Asks the client named `producer-N` or `consumer-N` to crash.
    let crashClient: @Sendable (String) -> Void
    let seed: UInt64
    let log: @Sendable (String) -> Void
    private let applied = Mutex<[FaultRecord]>([])

    init(events: [FaultEvent], cluster: EmbeddedCluster?, proxies: [FaultProxy], recorder: HistoryRecorder, seed: UInt64,
         crashClient: @escaping @Sendable (String) -> Void, log: @escaping @Sendable (String) -> Void) {
        self.events = events
        self.cluster = cluster
        self.proxies = proxies
        self.recorder = recorder
        self.seed = seed
        self.crashClient = crashClient
        self.log = log
    }

    /// The faults applied so far.
    var records: [FaultRecord] { applied.withLock { $0 } }

    /// Runs the schedule from the moment producers start until they stop.
    func run(control: DriverControl) async {
        await control.waitUntilProducing()
        let start = ContinuousClock.now
        for (number, event) in events.enumerated() {
            guard await sleep(until: start + .seconds(event.at), control: control) else { break }
            let begin = (ContinuousClock.now - start).seconds
            recorder.recordNemesis(.invoke, fault: event.kind.rawValue, target: event.target)
            log("nemesis: \(event.kind.rawValue) \(event.target) at \(String(format: "%.1f", begin)) s\n")
            var detail = await apply(event, number: number)
            _ = await sleep(until: start + .seconds(begin + event.duration), control: control)
            if let problem = await heal(event) { detail = [detail, problem].compactMap { $0 }.joined(separator: "; ") }
            recorder.recordNemesis(.info, fault: event.kind.rawValue, target: event.target, detail: detail)
            let end = (ContinuousClock.now - start).seconds
            applied.withLock { $0.append(FaultRecord(kind: event.kind.rawValue, target: event.target, start: begin, end: end, detail: detail)) }
        }
    }

    /// Sleeps until `instant`; false when the producers stopped first.
    private func sleep(until instant: ContinuousClock.Instant, control: DriverControl) async -> Bool {
        while ContinuousClock.now < instant {
            if control.areProducersStopping { return false }
            try? await Task.sleep(for: min(.milliseconds(50), instant - ContinuousClock.now))
        }
        return !control.areProducersStopping
    }

    private func node(_ target: String) -> Int? {
        target.hasPrefix("broker-") ? Int(target.dropFirst("broker-".count)) : nil
    }

    private func proxies(for target: String) -> [FaultProxy] {
        guard let node = node(target) else { return proxies }
        return node < proxies.count ? [proxies[node]] : []
    }

    /// Applies the fault; returns a detail for the history.
    private func apply(_ event: FaultEvent, number: Int) async -> String? {
        switch event.kind {
        case .kill:
            guard let cluster, let node = node(event.target) else { return "no such broker" }
            await cluster.kill(node)
            return nil
        case .corrupt:
            guard let cluster, let node = node(event.target) else { return "no such broker" }
            await cluster.kill(node)
            return corruptSegment(in: cluster.dataDirectory(of: node), seed: seed &+ UInt64(number))
        case .pause:
            guard let cluster, let node = node(event.target) else { return "no such broker" }
            cluster.pause(node, true)
            return nil
        case .partition, .delay, .slow:
            for proxy in proxies(for: event.target) { proxy.set(event.linkFault ?? .none) }
            return event.linkFault?.description
        case .reset:
            let proxies = proxies(for: event.target)
            let count = proxies.reduce(0) { $0 + $1.connectionCount }
            for proxy in proxies { proxy.closeConnections() }
            return "\(count) connection(s) reset"
        case .crashClient:
            crashClient(event.target)
            return nil
        }
    }

    /// Heals the fault; returns a problem to note, if healing failed.
    private func heal(_ event: FaultEvent) async -> String? {
        switch event.kind {
        case .kill, .corrupt:
            guard let cluster, let node = node(event.target) else { return nil }
            do {
                try await cluster.restart(node)
            } catch {
                log("nemesis: restarting \(event.target) failed: \(error)\n")
                return "restart failed: \(error)"
            }
        case .pause:
            if let cluster, let node = node(event.target) { cluster.pause(node, false) }
        case .partition, .delay, .slow:
            for proxy in proxies(for: event.target) { proxy.set(.none) }
        case .crashClient, .reset:
            break
        }
        return nil
    }

    /// Flips a byte in a closed segment of one of the run's partitions (chosen with `seed`).
    private func corruptSegment(in dataDirectory: URL, seed: UInt64) -> String {
        var generator = SplitMix64(seed: seed)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dataDirectory.path)) ?? []).filter { $0.hasPrefix("rill-bench-") }.sorted()
        guard !names.isEmpty else { return "no partition directory to corrupt" }
        let first = Int(generator.next() % UInt64(names.count))
        for offset in 0..<names.count {
            let directory = dataDirectory.appendingPathComponent(names[(first + offset) % names.count]).path
            if let corruption = try? DiskFaults.corruptClosedSegment(partitionDirectory: directory, using: &generator) {
                return corruption.description
            }
        }
        return "no closed segment to corrupt yet (segment.bytes larger than what was written?)"
    }
}
