import ArgumentParser
import Foundation
import RillBroker
import RillServer

/// `rill broker`: runs a Kafka-compatible broker until SIGTERM or SIGINT, then syncs and exits.
struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a Kafka-compatible broker.",
        discussion: """
            Settings use Kafka's broker names (server.properties), e.g. log.segment.bytes, \
            log.retention.ms, log.flush.interval.messages, num.partitions, auto.create.topics.enable. \
            Command-line flags win over --override, which wins over --config. \
            SIGTERM or SIGINT shuts down cleanly (every partition synced); after a kill -9 the \
            next start recovers each partition, cutting torn tails.
            """
    )

    @Option(help: "A server.properties file.") var config: String?
    @Option(name: .customLong("override"), parsing: .singleValue, help: "A broker setting as key=value (repeatable).")
    var overrides: [String] = []
    @Option(help: "Address to listen on, HOST:PORT (default 127.0.0.1:9092).") var listen: String?
    @Option(name: .customLong("data-dir"), help: "Data directory (default ./data).") var dataDirectory: String?
    @Option(name: .customLong("node-id"), help: "This broker's node id (default 0).") var nodeID: Int32?
    @Flag(name: .customLong("stop-when-stdin-closes"), help: "Shut down (as on SIGTERM) when standard input reaches its end: a parent that dies takes its brokers with it.")
    var stopsWhenStandardInputCloses = false

    func run() throws {
        let configuration = try makeConfiguration()
        for name in configuration.ignoredNames {
            FileHandle.standardError.write(Data("warning: unknown broker setting '\(name)' is ignored\n".utf8))
        }
        let server: BrokerServer
        do {
            server = try BrokerServer.start(configuration: configuration)
        } catch {
            throw ValidationError("cannot start the broker: \(error)")
        }
        let address = server.localAddress.map { "\($0.ipAddress ?? configuration.listenHost):\($0.port ?? configuration.listenPort)" } ?? "?"
        // Unbuffered, so a process waiting on a pipe sees it at once.
        FileHandle.standardOutput.write(Data("rill broker listening on \(address) (node \(configuration.nodeID), data in \(configuration.dataDirectory))\n".utf8))
        if stopsWhenStandardInputCloses { watchStandardInput() }
        waitForTermination()
        FileHandle.standardError.write(Data("shutting down: syncing and closing every partition\n".utf8))
        try server.stop()
    }

    func makeConfiguration() throws -> BrokerConfiguration {
        var text: String?
        if let config {
            do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
                throw ValidationError("cannot read --config \(config): \(error.localizedDescription)")
            }
        }
        var pairs: [(String, String)] = []
        for override in overrides {
            guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
                throw ValidationError("--override must be key=value, not '\(override)'")
            }
            pairs.append((String(override[..<equals]), String(override[override.index(after: equals)...])))
        }
        if let listen { pairs.append(("listeners", "PLAINTEXT://\(listen)")) }
        if let dataDirectory { pairs.append(("log.dirs", dataDirectory)) }
        if let nodeID { pairs.append(("node.id", String(nodeID))) }
        do {
            return try BrokerConfiguration(propertiesText: text, overrides: pairs)
        } catch let error as ConfigurationError {
            throw ValidationError(error.message)
        }
    }

    /// Sends this process SIGTERM once standard input ends (the parent holding the pipe exited).
    func watchStandardInput() {
        onStandardInputEnd(threadName: "rill-broker-stdin-watch") { kill(getpid(), SIGTERM) }
    }

    /// Blocks until SIGTERM or SIGINT.
    func waitForTermination() {
        let done = DispatchSemaphore(value: 0)
        let sources = terminationSignalSources { done.signal() }
        done.wait()
        for source in sources { source.cancel() }
    }
}
