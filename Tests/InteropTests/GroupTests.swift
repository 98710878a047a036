import Foundation
import Testing

extension InteropTests {
    /// Consumer groups with real clients: confluent-kafka members (group_member.py) and
    /// kafka-python members as child processes the test starts, stops and kills, kcat -G, and
    /// both admin clients. The broker runs with group.initial.rebalance.delay.ms=0 (the first
    /// member is answered at once; later members rebalance) and the members with
    /// session.timeout.ms=6000 (the broker minimum) and 1 s heartbeats.
    @Suite struct GroupTests {
        /// Bound on a group settling (joins, syncs, first fetches) or consuming what it was given.
        static let settleTimeout: Duration = .seconds(40)
        static let sessionTimeoutSeconds = 6.0

        static func overrides(partitions: Int) -> [String] {
            ["group.initial.rebalance.delay.ms=0", "num.partitions=\(partitions)"]
        }

        /// `count` keyed records `prefix-00000:value`, partitioned by kcat (librdkafka's
        /// consistent_random: by key hash); returns the keys.
        @discardableResult
        static func produceKeyed(_ broker: BrokerProcess, topic: String, prefix: String, count: Int) async throws -> [String] {
            let keys = (0..<count).map { "\(prefix)-\(String(format: "%05d", $0))" }
            try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: nil, lines: keys.map { "\($0):value" })
            return keys
        }

        /// Offsets of each partition's records, which must be 0..<n: nothing skipped or repeated.
        static func expectContiguousPerPartition(_ records: [ConsumedRecord], sourceLocation: SourceLocation = #_sourceLocation) {
            for (partition, inPartition) in Dictionary(grouping: records, by: \.partition) {
                let offsets = inPartition.map(\.offset).sorted()
                #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition): offsets \(offsets.prefix(10))…",
                        sourceLocation: sourceLocation)
            }
        }

        /// Each partition's end offset as the consumed records show it, as "topic:partition".
        static func endOffsets(of records: [ConsumedRecord], topic: String) -> [String: Int64] {
            Dictionary(grouping: records, by: \.partition).reduce(into: [:]) { ends, entry in
                ends["\(topic):\(entry.key)"] = (entry.value.map(\.offset).max() ?? -1) + 1
            }
        }

        static func keys(_ records: [ConsumedRecord]) -> [String] { records.compactMap(\.key) }

        @Test("three confluent-kafka members split six partitions and consume every record exactly once, committing as they go")
        func threeMembersSplitThePartitions() async throws {
            try await BrokerProcess.with(overrides: Self.overrides(partitions: 6)) { broker in
                let topic = "orders", group = "split"
                let keys = try await Self.produceKeyed(broker, topic: topic, prefix: "k", count: 3000)
                let members = try ["a", "b", "c"].map { try GroupMember.start(name: "member-\($0)", bootstrap: broker.bootstrap, group: group, topic: topic) }
                defer { GroupMember.killAll(members) }
                let settled = await GroupWatch.wait(for: members, timeout: Self.settleTimeout) { views in
                    GroupWatch.isSplit(views.map(\.assignment), over: 0..<6) && Set(views.flatMap { Self.keys($0.consumed) }).count == keys.count
                }
                try #require(settled != nil, "the group did not settle and consume everything:\n\(GroupWatch.describe(members))")
                // Range over 6 partitions and 3 members: two each.
                #expect(settled!.map { $0.assignment?.count } == [2, 2, 2])

                let views = try await GroupMember.stopAll(members)
                let consumed = views.flatMap(\.consumed)
                #expect(consumed.count == keys.count, "\(consumed.count - keys.count) records consumed more than once")
                #expect(Set(Self.keys(consumed)) == Set(keys))
                #expect(Set(consumed).count == consumed.count)
                Self.expectContiguousPerPartition(consumed)
                #expect(views.flatMap(\.errors).isEmpty, "\(views.flatMap(\.errors).prefix(5))")
                #expect(views.flatMap(\.commitErrors).isEmpty, "\(views.flatMap(\.commitErrors).prefix(5))")

                // Every partition committed at its end, in the generation that owned it.
                let admin = try await GroupAdmin.run(broker.bootstrap, describe: [group], offsets: [group])
                #expect(admin.errors.isEmpty, "\(admin.errors)")
                #expect(admin.offsets[group] == Self.endOffsets(of: consumed, topic: topic))
                #expect(admin.described[group]?.state == "EMPTY", "every member left on close")
            }
        }

        @Test("a member killed with SIGKILL loses its partitions to the survivors within the session timeout; later records are all consumed")
        func killedMemberPartitionsMoveToTheSurvivors() async throws {
            try await BrokerProcess.with(overrides: Self.overrides(partitions: 6)) { broker in
                let topic = "orders", group = "survivors"
                let before = try await Self.produceKeyed(broker, topic: topic, prefix: "before", count: 600)
                let members = try ["a", "b", "c"].map { try GroupMember.start(name: "member-\($0)", bootstrap: broker.bootstrap, group: group, topic: topic) }
                defer { GroupMember.killAll(members) }
                let settled = await GroupWatch.wait(for: members, timeout: Self.settleTimeout) { views in
                    GroupWatch.isSplit(views.map(\.assignment), over: 0..<6) && Set(views.flatMap { Self.keys($0.consumed) }).isSuperset(of: before)
                }
                try #require(settled != nil, "the group did not settle:\n\(GroupWatch.describe(members))")
                let victim = members[2], survivors = Array(members[0..<2])
                let victimPartitions = try #require(settled![2].assignment)

                let killedAt = Date().timeIntervalSince1970
                await victim.kill()
                let after = try await Self.produceKeyed(broker, topic: topic, prefix: "after", count: 600)
                let moved = await GroupWatch.wait(for: survivors, timeout: Self.settleTimeout) { views in
                    views.allSatisfy { ($0.lastAssignment?.time ?? 0) > killedAt } && GroupWatch.isSplit(views.map(\.assignment), over: 0..<6)
                }
                try #require(moved != nil, "the survivors did not take over all partitions:\n\(GroupWatch.describe(survivors))")
                let rebalanceSeconds = moved!.compactMap { $0.lastAssignment?.time }.max()! - killedAt
                // The session timeout, one heartbeat interval (1 s) and the broker's 100 ms tick,
                // plus slack for a busy machine (a broker that waited for the rebalance timeout,
                // librdkafka's 300 s, or ticked slowly would fail this).
                #expect(rebalanceSeconds < Self.sessionTimeoutSeconds + 5, "the survivors were reassigned \(rebalanceSeconds) s after the kill")
                let taken = moved!.map { $0.assignment! }
                #expect(victimPartitions.isSubset(of: taken[0].union(taken[1])))

                let drained = await GroupWatch.wait(for: survivors, timeout: Self.settleTimeout) { views in
                    Set(views.flatMap { Self.keys($0.consumed) }).isSuperset(of: after)
                }
                #expect(drained != nil, "records produced after the kill were not all consumed:\n\(GroupWatch.describe(survivors))")
                let views = try await GroupMember.stopAll(survivors)
                #expect(views.flatMap(\.errors).isEmpty, "\(views.flatMap(\.errors).prefix(5))")
                #expect(views.flatMap(\.commitErrors).isEmpty, "\(views.flatMap(\.commitErrors).prefix(5))")
            }
        }

        enum Departure: String, CaseIterable, CustomTestStringConvertible {
            /// The member closes (LeaveGroup) after committing.
            case close
            /// The member is killed after committing; the group waits out its session.
            case kill
            var testDescription: String { rawValue }
        }

        @Test("a restarted member resumes exactly at the offsets its predecessor committed", arguments: Departure.allCases)
        func restartedMemberResumesAtCommittedOffsets(departure: Departure) async throws {
            let partitions = 3, perPartition = 100, firstRun = 130
            try await BrokerProcess.with(overrides: Self.overrides(partitions: partitions)) { broker in
                let topic = "resume", group = "resume-\(departure.rawValue)"
                for partition in 0..<partitions {
                    let lines = (0..<perPartition).map { "p\(partition)-\(String(format: "%03d", $0)):value" }
                    try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: partition, lines: lines)
                }
                let first = try GroupMember.start(name: "first", bootstrap: broker.bootstrap, group: group, topic: topic,
                                                  extra: ["--max-records", String(firstRun), "--after-max", departure == .close ? "close" : "wait"])
                defer { first.process.send(SIGKILL) }
                let firstView: MemberView
                switch departure {
                case .close:
                    firstView = try await first.waitUntilClosed()
                case .kill:
                    let waiting = await GroupWatch.wait(for: [first], timeout: Self.settleTimeout) { $0[0].has("waiting") }
                    try #require(waiting != nil, "the first member did not consume \(firstRun) records:\n\(first.log)")
                    await first.kill()
                    firstView = first.view
                }
                #expect(firstView.consumed.count == firstRun)
                #expect(firstView.commitErrors.isEmpty, "\(firstView.commitErrors)")
                let consumedEnds = Self.endOffsets(of: firstView.consumed, topic: topic)
                let committed = firstView.lastCommitted
                #expect(Dictionary(uniqueKeysWithValues: committed.map { ("\(topic):\($0.key)", $0.value) }) == consumedEnds)
                // The stop point lies inside some partition, so resuming there is observable.
                #expect(committed.values.contains { $0 > 0 && $0 < Int64(perPartition) })

                let admin = try await GroupAdmin.run(broker.bootstrap, offsets: [group])
                #expect(admin.offsets[group] == consumedEnds, "OffsetFetch disagrees with what the member committed")

                let second = try GroupMember.start(name: "second", bootstrap: broker.bootstrap, group: group, topic: topic)
                defer { second.process.send(SIGKILL) }
                let remaining = partitions * perPartition - firstRun
                let done = await GroupWatch.wait(for: [second], timeout: Self.settleTimeout) { $0[0].consumed.count >= remaining }
                try #require(done != nil, "the second member did not consume the \(remaining) remaining records:\n\(GroupWatch.describe([second]))")
                let secondView = try await second.stop()
                let resumed = secondView.consumed
                #expect(resumed.count == remaining, "\(resumed.count - remaining) records consumed again")
                for partition in 0..<Int32(partitions) {
                    let start = committed[partition] ?? 0
                    let offsets = resumed.filter { $0.partition == partition }.map(\.offset)
                    #expect(offsets == Array(start..<Int64(perPartition)), "partition \(partition) resumed at \(offsets.first.map(String.init) ?? "nothing"), committed \(start)")
                }
                Self.expectContiguousPerPartition(firstView.consumed + resumed)
            }
        }

        enum BrokerStop: String, CaseIterable, CustomTestStringConvertible {
            case sigterm = "SIGTERM"
            case kill9 = "kill -9"
            var testDescription: String { rawValue }
        }

        @Test("a broker restart keeps committed offsets and group membership: a live member carries on without rebalancing",
              arguments: BrokerStop.allCases)
        func brokerRestartKeepsOffsetsAndGroups(stop: BrokerStop) async throws {
            let partitions = 4
            try await BrokerProcess.with(overrides: Self.overrides(partitions: partitions)) { broker in
                let topic = "kept"
                let before = try await Self.produceKeyed(broker, topic: topic, prefix: "before", count: 200)
                // A group whose only member committed and left (Empty, offsets only) ...
                let leaver = try GroupMember.start(name: "leaver", bootstrap: broker.bootstrap, group: "left", topic: topic,
                                                   extra: ["--max-records", "90"])
                defer { leaver.process.send(SIGKILL) }
                let leaverView = try await leaver.waitUntilClosed()
                #expect(leaverView.consumed.count == 90)
                // ... and one whose member stays through the restart.
                let stayer = try GroupMember.start(name: "stayer", bootstrap: broker.bootstrap, group: "live", topic: topic)
                defer { stayer.process.send(SIGKILL) }
                let caughtUp = await GroupWatch.wait(for: [stayer], timeout: Self.settleTimeout) { views in
                    Set(Self.keys(views[0].consumed)).isSuperset(of: before) && views[0].lastCommitted.values.reduce(0, +) == Int64(before.count)
                }
                try #require(caughtUp != nil, "the live member did not consume and commit everything:\n\(GroupWatch.describe([stayer]))")

                let groups = ["left", "live"]
                let old = try await GroupAdmin.run(broker.bootstrap, describe: groups, offsets: groups)
                #expect(old.errors.isEmpty, "\(old.errors)")
                #expect(old.offsets["left"] == Self.endOffsets(of: leaverView.consumed, topic: topic))
                #expect(old.offsets["live"]?.values.reduce(0, +) == Int64(before.count))
                #expect(old.described["left"]?.state == "EMPTY")
                #expect(old.described["live"]?.state == "STABLE")
                let liveMembers = try #require(old.described["live"]?.members)
                #expect(liveMembers.count == 1)

                switch stop {
                case .sigterm: #expect(try await broker.terminate() == ProcessSnapshot.Termination(status: 0, wasSignalled: false))
                case .kill9: try await broker.kill9()
                }
                try await broker.restart()

                let new = try await GroupAdmin.run(broker.bootstrap, describe: groups, offsets: groups)
                #expect(new.errors.isEmpty, "\(new.errors)")
                #expect(new.offsets == old.offsets)
                #expect(new.described["left"]?.state == "EMPTY")
                #expect(new.described["live"]?.state == "STABLE")
                #expect(new.described["live"]?.members == liveMembers, "the live member's id or assignment changed")

                // The member heartbeats on with its old id and generation and goes on consuming.
                let later = try await Self.produceKeyed(broker, topic: topic, prefix: "later", count: 50)
                let carriedOn = await GroupWatch.wait(for: [stayer], timeout: Self.settleTimeout) { views in
                    Set(Self.keys(views[0].consumed)).isSuperset(of: later)
                }
                #expect(carriedOn != nil, "the live member consumed nothing after the restart:\n\(GroupWatch.describe([stayer]))")
                let view = try await stayer.stop()
                #expect(view.assignments.count == 1, "the live member was rebalanced: \(view.assignments.map(\.partitions))")
                #expect(view.revocations.count == 1, "revoked before its close: \(view.revocations.map(\.partitions))")
                #expect(view.commitErrors.isEmpty, "\(view.commitErrors)")
                #expect(view.consumed.count == before.count + later.count, "records consumed twice across the restart")

                // A new member of the emptied group resumes at its offsets committed before the
                // restart (librdkafka validates them against the new leader epoch first).
                let resumer = try GroupMember.start(name: "resumer", bootstrap: broker.bootstrap, group: "left", topic: topic)
                defer { resumer.process.send(SIGKILL) }
                let remaining = before.count + later.count - leaverView.consumed.count
                let done = await GroupWatch.wait(for: [resumer], timeout: Self.settleTimeout) { $0[0].consumed.count >= remaining }
                #expect(done != nil, "the emptied group's new member did not catch up:\n\(GroupWatch.describe([resumer]))")
                let resumed = try await resumer.stop().consumed
                let ends = Self.endOffsets(of: view.consumed, topic: topic)
                for partition in 0..<Int32(partitions) {
                    let start = old.offsets["left"]?["\(topic):\(partition)"] ?? 0
                    let offsets = resumed.filter { $0.partition == partition }.map(\.offset)
                    #expect(offsets == Array(start..<(ends["\(topic):\(partition)"] ?? 0)), "partition \(partition) resumed at \(offsets.first.map(String.init) ?? "nothing"), committed \(start)")
                }
            }
        }

        @Test("a deleted topic's committed offsets are forgotten: its group reads the topic created again from the start")
        func deletedTopicOffsetsAreForgotten() async throws {
            try await BrokerProcess.with(overrides: Self.overrides(partitions: 2)) { broker in
                let topic = "recreated", group = "recreated-group"
                let old = try await Self.produceKeyed(broker, topic: topic, prefix: "old", count: 40)
                let first = try GroupMember.start(name: "first", bootstrap: broker.bootstrap, group: group, topic: topic, extra: ["--max-records", String(old.count)])
                defer { first.process.send(SIGKILL) }
                let firstView = try await first.waitUntilClosed()
                #expect(firstView.lastCommitted.values.reduce(0, +) == Int64(old.count))

                let deletion = try await GroupAdmin.run(broker.bootstrap, describe: [group], offsets: [group], deleteTopics: [topic])
                #expect(deletion.deleted[topic] == .some(nil), "the topic was not deleted: \(deletion.deleted)")
                #expect(deletion.offsets[group] == [:], "the deleted topic's offsets are still committed")
                #expect(deletion.described[group]?.state == "DEAD", "a group left with nothing is removed")

                // More records than before, so resuming at the old positions would skip some.
                let new = try await Self.produceKeyed(broker, topic: topic, prefix: "new", count: 200)
                let second = try GroupMember.start(name: "second", bootstrap: broker.bootstrap, group: group, topic: topic)
                defer { second.process.send(SIGKILL) }
                let caughtUp = await GroupWatch.wait(for: [second], timeout: Self.settleTimeout) { $0[0].consumed.count >= new.count }
                #expect(caughtUp != nil, "the group did not read the new topic:\n\(GroupWatch.describe([second]))")
                let view = try await second.stop()
                let skipped = Set(new).subtracting(Self.keys(view.consumed))
                #expect(skipped.isEmpty, "\(skipped.count) new records skipped, e.g. \(skipped.sorted().prefix(3)); first consumed \(view.consumed.prefix(3))")
                #expect(view.consumed.count == new.count)
                Self.expectContiguousPerPartition(view.consumed)
            }
        }
    }
}
