import ArgumentParser
import CRillSystem

/// `rill`: the command-line tool. Subcommands are added as the system grows (DESIGN.md).
@main
struct Rill: AsyncParsableCommand {
    /// glibc returns large freed blocks to the kernel (mmap and heap trimming), so every new
    /// megabyte batch or request buffer costs page faults and zeroing — 10% of the producer's
    /// time in profiles. Keep blocks up to 64 MiB on the heap and do not trim below 256 MiB.
    static func tuneMemoryAllocator() {
        rill_tune_allocator(64 << 20, 256 << 20)
    }

    static func main() async {
        tuneMemoryAllocator()
        await Self.main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "rill",
        abstract: "A Kafka-compatible commit log, and the harness that measures it and tries to break it.",
        subcommands: [
            BrokerCommand.self, TopicsCommand.self, GroupsCommand.self, ProduceCommand.self, ConsumeCommand.self, DumpLogCommand.self,
            PerfCommand.self, RunCommand.self, CompareCommand.self, CheckCommand.self, ExactlyOnceConsumerCommand.self,
        ]
    )
}
