import ArgumentParser
import Foundation
import RillClient
import RillFormat
import RillProtocol

/// `rill groups`: like kafka-consumer-groups — list groups, and describe one with its members,
/// assignments, committed offsets and lag.
struct GroupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groups", abstract: "List and describe consumer groups (like kafka-consumer-groups).",
        subcommands: [List.self, Describe.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List consumer groups.")
        @OptionGroup var bootstrap: BootstrapOptions

        func run() async throws {
            let admin = KafkaAdmin(configuration: try bootstrap.clientConfiguration())
            try await runReportingErrors {
                defer { Task { await admin.close() } }
                for group in try await admin.listGroups() { print(group.groupID) }
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A group's state, members and, per partition, committed offset, log end offset and lag.")
        @OptionGroup var bootstrap: BootstrapOptions
        @Argument(help: "Group id.") var group: String

        func run() async throws {
            let admin = KafkaAdmin(configuration: try bootstrap.clientConfiguration())
            try await runReportingErrors {
                defer { Task { await admin.close() } }
                guard let description = try await admin.describeGroups([group]).first else { return }
                let committed = try await admin.committedOffsets(group: group)
                if description.state == "Dead" && committed.isEmpty {
                    print("Consumer group '\(group)' does not exist.")
                    return
                }
                var owners: [TopicPartition: KafkaAdmin.GroupDescription.Member] = [:]
                for member in description.members { for partition in member.assignment { owners[partition] = member } }
                let partitions = Set(committed.keys).union(owners.keys).sorted()
                let ends = partitions.isEmpty ? [:] : try await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .latest) }))
                print("Group \(group): \(description.state)" + (description.protocolName.isEmpty ? "" : ", assignor \(description.protocolName)")
                      + ", \(description.members.count) member(s)")
                let header = ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]
                var rows = [header]
                for partition in partitions {
                    let current = committed[partition]
                    let end = ends[partition]?.offset
                    let lag = zip2(current, end).map { String($1.rawValue - $0.rawValue) } ?? "-"
                    let owner = owners[partition]
                    rows.append([partition.topic, String(partition.partition), current.map { String($0.rawValue) } ?? "-",
                                 end.map { String($0.rawValue) } ?? "-", lag, owner?.memberID ?? "-", owner?.clientHost ?? "-", owner?.clientID ?? "-"])
                }
                for member in description.members where member.assignment.isEmpty {
                    rows.append(["-", "-", "-", "-", "-", member.memberID, member.clientHost, member.clientID])
                }
                let widths = header.indices.map { column in rows.map { $0[column].count }.max()! }
                for row in rows {
                    print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
                }
            }
        }
    }
}

private func zip2<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
