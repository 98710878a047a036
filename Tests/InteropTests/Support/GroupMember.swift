import Foundation
import Testing

/// A record a group member consumed: where it was and its key (text).
struct ConsumedRecord: Decodable, Hashable, CustomStringConvertible {
    var partition: Int32
    var offset: Int64
    var key: String?

    /// Decodes the drivers' compact `[partition, offset, key]` form.
    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        partition = try container.decode(Int32.self)
        offset = try container.decode(Int64.self)
        key = try container.decodeIfPresent(String.self)
    }

    init(partition: Int32, offset: Int64, key: String?) {
        self.partition = partition
        self.offset = offset
        self.key = key
    }

    var description: String { "\(partition)@\(offset)(\(key ?? "null"))" }
}

/// One line a group member driver (group_member.py, group_member_kafka_python.py) printed.
struct MemberEvent: Decodable {
    var event: String
    var partitions: [Int32]?
    /// Wall-clock seconds (time.time()) when a callback ran.
    var time: Double?
    var records: [ConsumedRecord]?
    /// Committed offsets by partition (as text); librdkafka reports -1001 for partitions it
    /// had nothing to commit for.
    var offsets: [String: Int64]?
    var error: String?
    var reason: String?
    var memberId: String?
}

/// What a member's events say so far.
struct MemberView {
    var events: [MemberEvent]

    /// The partitions the member holds now: those of its last assignment, unless revoked or
    /// lost since. Nil when it holds none (not yet assigned, or between generations).
    var assignment: Set<Int32>? {
        var current: Set<Int32>?
        for event in events {
            switch event.event {
            case "assigned": current = Set(event.partitions ?? [])
            case "revoked", "lost": current = nil
            default: break
            }
        }
        return current
    }

    /// The last assignment and when its callback ran.
    var lastAssignment: (partitions: Set<Int32>, time: Double)? {
        guard let event = events.last(where: { $0.event == "assigned" }) else { return nil }
        return (Set(event.partitions ?? []), event.time ?? 0)
    }

    var assignments: [MemberEvent] { events.filter { $0.event == "assigned" } }
    var revocations: [MemberEvent] { events.filter { $0.event == "revoked" || $0.event == "lost" } }
    var consumed: [ConsumedRecord] { events.flatMap { $0.records ?? [] } }
    /// Client errors the member reported, and output lines that were not what was expected.
    var errors: [String] { events.filter { $0.event == "error" || $0.event == "unparsable" }.compactMap(\.error) }
    var commitErrors: [String] { events.filter { $0.event == "committed" }.compactMap(\.error) }

    /// The committed offsets the member's last commit reported (partitions it committed).
    var lastCommitted: [Int32: Int64] {
        var committed: [Int32: Int64] = [:]
        for event in events where event.event == "committed" && event.error == nil {
            for (partition, offset) in event.offsets ?? [:] where offset >= 0 {
                if let partition = Int32(partition) { committed[partition] = offset }
            }
        }
        return committed
    }

    func has(_ name: String) -> Bool { events.contains { $0.event == name } }
}

/// A group member running as a child process: a confluent-kafka (group_member.py) or
/// kafka-python (group_member_kafka_python.py) driver, or `kcat -G`. It lives until `stop()`
/// (SIGTERM: it commits and closes) or `kill()` (SIGKILL: no goodbye to the group).
final class GroupMember: Sendable {
    enum Client: Sendable { case confluent, kafkaPython, kcat }

    let name: String
    let client: Client
    let process: ChildProcess

    init(_ client: Client, name: String, bootstrap: String, group: String, topic: String, extra: [String] = []) throws {
        self.name = name
        self.client = client
        switch client {
        case .confluent, .kafkaPython:
            let script = client == .confluent ? "group_member.py" : "group_member_kafka_python.py"
            process = try ChildProcess(
                executable: try Tools.python(),
                arguments: ["-u", try Tools.script(script).path, "--bootstrap", bootstrap, "--group", group, "--topic", topic, "--client-id", name] + extra,
                environment: ["PYTHONDONTWRITEBYTECODE": "1"])
        case .kcat:
            // Balanced consumer; offsets auto-committed every 200 ms and on close; -u: unbuffered.
            let kcatArguments = [
                try Tools.kcat().path, "-b", bootstrap, "-G", group, "-u", "-f", "REC\\t%p\\t%o\\t%k\\n",
                "-X", "client.id=\(name)", "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000",
                "-X", "heartbeat.interval.ms=1000", "-X", "auto.commit.interval.ms=200",
            ] + extra + [topic]
            process = try ChildProcess(executable: try Tools.python(), arguments: [try Tools.script("exec_unblocked.py").path] + kcatArguments)
        }
    }

    /// Starts a member; the caller stops or kills it (and kills it in a `defer`).
    static func start(_ client: Client = .confluent, name: String, bootstrap: String, group: String, topic: String, extra: [String] = []) throws -> GroupMember {
        let member = try GroupMember(client, name: name, bootstrap: bootstrap, group: group, topic: topic, extra: extra)
        try member.process.start()
        return member
    }

    var view: MemberView { view(of: process.snapshot.value) }

    func view(of snapshot: ProcessSnapshot) -> MemberView {
        client == .kcat ? Self.kcatView(of: snapshot) : Self.driverView(of: snapshot)
    }

    /// The complete lines of a driver's standard output, decoded; a line that is not an event
    /// becomes an "unparsable" event, which `MemberView.errors` reports.
    static func driverView(of snapshot: ProcessSnapshot) -> MemberView {
        var events: [MemberEvent] = []
        for line in completeLines(snapshot.outputText) {
            if let event = try? JSONDecoder().decode(MemberEvent.self, from: Data(line.utf8)) {
                events.append(event)
            } else {
                events.append(MemberEvent(event: "unparsable", error: String(line.prefix(300))))
            }
        }
        return MemberView(events: events)
    }

    /// kcat: rebalances from its standard error ("% Group G rebalanced (memberid M): assigned:
    /// t [0], t [1]"), records from standard output (`REC partition offset key`).
    static func kcatView(of snapshot: ProcessSnapshot) -> MemberView {
        var events: [MemberEvent] = []
        for line in completeLines(snapshot.errorText) {
            for kind in ["assigned", "revoked"] {
                guard let marker = line.range(of: "): \(kind): ") else { continue }
                let partitions = line[marker.upperBound...].split(separator: ",").compactMap { entry -> Int32? in
                    guard let open = entry.lastIndex(of: "["), let close = entry.lastIndex(of: "]") else { return nil }
                    return Int32(entry[entry.index(after: open)..<close])
                }
                events.append(MemberEvent(event: kind, partitions: partitions.sorted()))
            }
        }
        var records: [ConsumedRecord] = []
        for line in completeLines(snapshot.outputText) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            if fields.count == 4, fields[0] == "REC", let partition = Int32(fields[1]), let offset = Int64(fields[2]) {
                records.append(ConsumedRecord(partition: partition, offset: offset, key: String(fields[3])))
            } else {
                events.append(MemberEvent(event: "unparsable", error: String(line.prefix(300))))
            }
        }
        events.append(MemberEvent(event: "records", records: records))
        return MemberView(events: events)
    }

    /// The lines of `text` that are complete (end with a newline).
    private static func completeLines(_ text: String) -> [Substring] {
        let complete = text.hasSuffix("\n") ? text[...] : text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)]
        return complete.split(separator: "\n").filter { !$0.isEmpty }
    }

    /// Standard error's last lines, for failure messages.
    var log: String { process.snapshot.value.errorText.suffixLines(15) }

    /// SIGTERM, then waits for the member to commit, close and exit 0; returns its view.
    @discardableResult
    func stop(timeout: Duration = .seconds(30)) async throws -> MemberView {
        process.send(SIGTERM)
        return try await waitUntilClosed(timeout: timeout)
    }

    /// Waits until the member ends by itself (a driver after --max-records with --after-max
    /// close) or after `stop()`; it must exit 0, and a driver must have closed its consumer.
    func waitUntilClosed(timeout: Duration = .seconds(45)) async throws -> MemberView {
        guard let finished = await process.waitUntilFinished(timeout: timeout) else {
            process.send(SIGKILL)
            throw ChildProcessError(description: "member \(name) did not finish within \(timeout); stderr:\n\(log)")
        }
        guard finished.termination == ProcessSnapshot.Termination(status: 0, wasSignalled: false) else {
            throw ChildProcessError(description: "member \(name) ended with \(finished.termination!); stderr:\n\(finished.errorText.suffixLines(20))")
        }
        let view = view(of: finished)
        guard client == .kcat || view.has("closed") else { throw ChildProcessError(description: "member \(name) exited without closing; stderr:\n\(log)") }
        return view
    }

    /// SIGKILL: the member vanishes without leaving the group. Returns once it is gone.
    func kill() async {
        process.send(SIGKILL)
        _ = await process.waitUntilFinished(timeout: .seconds(10))
    }

    /// Kills every member still running (for `defer`; a test stops them properly first).
    static func killAll(_ members: [GroupMember]) {
        for member in members { member.process.send(SIGKILL) }
    }

    /// Stops all at once (each closes while the others may be rebalancing) and returns views.
    static func stopAll(_ members: [GroupMember]) async throws -> [MemberView] {
        for member in members { member.process.send(SIGTERM) }
        var views: [MemberView] = []
        for member in members { views.append(try await member.waitUntilClosed(timeout: .seconds(30))) }
        return views
    }
}

/// Waiting for a condition over several child processes' output: the condition is evaluated
/// whenever one of them writes or exits, never on a timer.
enum GroupWatch {
    /// The snapshots once `condition` holds for them, or nil when `timeout` passes first.
    static func wait(for processes: [ChildProcess], timeout: Duration, until condition: ([ProcessSnapshot]) -> Bool) async -> [ProcessSnapshot]? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        // Bounded: each round waits for at least one byte of output or an exit.
        for _ in 0..<1_000_000 {
            let snapshots = processes.map(\.snapshot.value)
            if condition(snapshots) { return snapshots }
            let remaining = deadline - clock.now
            guard remaining > .zero else { return nil }
            await withTaskGroup(of: Void.self) { group in
                for (process, seen) in zip(processes, snapshots) {
                    let outputCount = seen.standardOutput.count, errorCount = seen.standardError.count, ended = seen.termination != nil
                    group.addTask {
                        _ = await process.snapshot.wait(timeout: remaining) {
                            $0.standardOutput.count != outputCount || $0.standardError.count != errorCount || ($0.termination != nil) != ended
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        return nil
    }

    /// The members' views once `condition` holds for them, or nil after `timeout`.
    static func wait(for members: [GroupMember], timeout: Duration, until condition: ([MemberView]) -> Bool) async -> [MemberView]? {
        await wait(for: members.map(\.process), timeout: timeout) { snapshots in
            condition(zip(members, snapshots).map { $0.view(of: $1) })
        }.map { snapshots in zip(members, snapshots).map { $0.view(of: $1) } }
    }

    /// Whether `assignments` split `partitions` between them: disjoint, and together all.
    static func isSplit(_ assignments: [Set<Int32>?], over partitions: Range<Int32>) -> Bool {
        let present = assignments.compactMap { $0 }
        guard present.count == assignments.count else { return false }
        let total = present.reduce(0) { $0 + $1.count }
        return total == partitions.count && present.reduce(into: Set<Int32>()) { $0.formUnion($1) } == Set(partitions)
    }

    /// A readable account of members' assignments, for failure messages.
    static func describe(_ members: [GroupMember]) -> String {
        members.map { member in
            let view = member.view
            return "\(member.name): assignment \(view.assignment.map { $0.sorted().description } ?? "none"), \(view.consumed.count) consumed, events \(view.events.filter { $0.event != "records" && $0.event != "committed" }.map { "\($0.event)\($0.partitions.map { "\($0)" } ?? "")" })"
        }.joined(separator: "\n")
    }
}
