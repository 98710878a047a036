import Foundation

/// What group_admin.py reports: groups as confluent-kafka's AdminClient or kafka-python's
/// KafkaAdminClient see them.
struct GroupAdmin: Decodable {
    enum Client: String, Sendable { case confluent, kafkaPython = "kafka-python" }

    struct Listed: Decodable, Hashable {
        var groupId: String
        var isSimple: Bool
        /// confluent's state name (UNKNOWN below ListGroups v4); nil for kafka-python.
        var state: String?
        /// kafka-python's protocol type; nil for confluent.
        var protocolType: String?
    }

    struct Member: Decodable, Hashable {
        var memberId: String
        var clientId: String
        var host: String
        var instanceId: String?
        /// "topic:partition" entries, sorted.
        var assignment: [String]
        /// kafka-python only: the subscribed topics it decoded from the member metadata.
        var subscription: [String]?
    }

    struct Described: Decodable {
        /// confluent: STABLE, EMPTY, DEAD…; kafka-python: Kafka's names (Stable, Empty…).
        var state: String?
        var protocolType: String?
        var assignor: String?
        var isSimple: Bool?
        var coordinator: Int?
        var error: String?
        var members: [Member]?
    }

    /// Topics deleted first, with the error of each (nil: deleted).
    var deleted: [String: String?]
    var altered: [String: String?]
    var groups: [Listed]?
    var described: [String: Described]
    /// Committed offsets by group, then by "topic:partition".
    var offsets: [String: [String: Int64]]
    var errors: [String]

    /// Runs group_admin.py with `client` and the given requests.
    static func run(_ bootstrap: String, client: Client = .confluent, list: Bool = false, describe: [String] = [],
                    offsets: [String] = [], alter: [String] = [], deleteTopics: [String] = []) async throws -> GroupAdmin {
        var arguments = ["--bootstrap", bootstrap, "--client", client.rawValue]
        if list { arguments.append("--list") }
        for group in describe { arguments += ["--describe", group] }
        for group in offsets { arguments += ["--offsets", group] }
        for spec in alter { arguments += ["--alter", spec] }
        for topic in deleteTopics { arguments += ["--delete-topic", topic] }
        return try await Tools.runScript("group_admin.py", arguments, timeout: .seconds(45))
    }
}
