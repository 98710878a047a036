import ArgumentParser

/// `rill`: the command-line tool. Subcommands are added as the system grows (DESIGN.md).
@main
struct Rill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rill",
        abstract: "A Kafka-compatible commit log, and the harness that measures it and tries to break it.",
        subcommands: [
            BrokerCommand.self, TopicsCommand.self, GroupsCommand.self, ProduceCommand.self, ConsumeCommand.self, DumpLogCommand.self,
            PerfCommand.self, RunCommand.self, CompareCommand.self, CheckCommand.self, ExactlyOnceConsumerCommand.self,
        ]
    )
}
