import NIOCore

/// Settings every client shares, under Kafka's property names (`bootstrap.servers`,
/// `client.id`, `request.timeout.ms`, …), so existing settings carry over as strings.
public struct ClientConfiguration: Sendable {
    public var bootstrapServers: [(host: String, port: Int)]
    /// `client.id`.
    public var clientID = "rill"
    /// `request.timeout.ms`: how long to wait for a response.
    public var requestTimeoutMilliseconds: Int64 = 30_000
    /// `socket.connection.setup.timeout.ms`.
    public var connectTimeoutMilliseconds: Int64 = 10_000
    /// `metadata.max.age.ms`: refresh metadata at least this often.
    public var metadataMaximumAgeMilliseconds: Int64 = 300_000
    /// `retry.backoff.ms`: pause before retrying a failed request.
    public var retryBackoffMilliseconds: Int64 = 100
    /// `fetch.max.bytes`-sized responses need a frame limit above it.
    public var maximumResponseBytes = 256 << 20

    public init(bootstrapServers: [(host: String, port: Int)]) {
        self.bootstrapServers = bootstrapServers
    }

    /// From Kafka properties; unknown names are returned for the caller to interpret or reject.
    public init(properties: [String: String]) throws {
        guard let servers = properties["bootstrap.servers"] else {
            throw KafkaClientError(.invalidConfiguration, "bootstrap.servers is required")
        }
        self.init(bootstrapServers: try Self.parseServers(servers))
        for (name, value) in properties { _ = try set(name, value) }
    }

    /// Sets one property; false when the name is not a common client property.
    public mutating func set(_ name: String, _ value: String) throws -> Bool {
        switch name {
        case "bootstrap.servers": bootstrapServers = try Self.parseServers(value)
        case "client.id": clientID = value
        case "request.timeout.ms": requestTimeoutMilliseconds = try PropertyParser.integer(name, value, minimum: 1)
        case "socket.connection.setup.timeout.ms": connectTimeoutMilliseconds = try PropertyParser.integer(name, value, minimum: 1)
        case "metadata.max.age.ms": metadataMaximumAgeMilliseconds = try PropertyParser.integer(name, value, minimum: 0)
        case "retry.backoff.ms": retryBackoffMilliseconds = try PropertyParser.integer(name, value, minimum: 0)
        default: return false
        }
        return true
    }

    /// `host:port[,host:port…]`.
    public static func parseServers(_ text: String) throws -> [(host: String, port: Int)] {
        let servers = try text.split(separator: ",").map { entry -> (host: String, port: Int) in
            let trimmed = entry.trimmingCharacters(in: " ")
            guard let colon = trimmed.lastIndex(of: ":"), let port = Int(trimmed[trimmed.index(after: colon)...]), (1...65535).contains(port) else {
                throw KafkaClientError(.invalidConfiguration, "bootstrap server must be HOST:PORT, not '\(trimmed)'")
            }
            return (String(trimmed[..<colon]), port)
        }
        guard !servers.isEmpty else { throw KafkaClientError(.invalidConfiguration, "bootstrap.servers is empty") }
        return servers
    }

    var requestTimeout: TimeAmount { .milliseconds(requestTimeoutMilliseconds) }
}

/// Parsing of Kafka property values with clear errors.
public enum PropertyParser {
    public static func integer(_ name: String, _ value: String, minimum: Int64, maximum: Int64 = .max) throws -> Int64 {
        guard let parsed = Int64(value.trimmingCharacters(in: " ")) else {
            throw KafkaClientError(.invalidConfiguration, "\(name) must be an integer, not '\(value)'")
        }
        guard parsed >= minimum, parsed <= maximum else {
            throw KafkaClientError(.invalidConfiguration, "\(name) must be between \(minimum) and \(maximum), not \(parsed)")
        }
        return parsed
    }

    public static func boolean(_ name: String, _ value: String) throws -> Bool {
        switch value.trimmingCharacters(in: " ").lowercased() {
        case "true": return true
        case "false": return false
        default: throw KafkaClientError(.invalidConfiguration, "\(name) must be true or false, not '\(value)'")
        }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
