import Foundation
import RillClient
import Yams

extension NodeReader {
    /// The workload in `root`, every field checked, then the rules between fields.
    func workload(from root: Node.Mapping) throws(WorkloadError) -> Workload {
        var workload = Workload()
        var given: Set<String> = []
        for (keyNode, value) in root {
            let key = try scalar("", keyNode)
            guard Self.fieldNames.contains(key) else {
                throw error(key, keyNode, "unknown field\(Self.suggestion(for: key))")
            }
            guard !given.contains(key) else { throw error(key, keyNode, "is given twice") }
            given.insert(key)
            try read(key, value, into: &workload)
        }
        if !given.contains("name") { workload.name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension }
        try validate(&workload, given: given, root: root)
        return workload
    }

    private func read(_ key: String, _ value: Node, into workload: inout Workload) throws(WorkloadError) {
        let counts = 1...100_000
        switch key {
        case "name":
            workload.name = try scalar(key, value)
            guard !workload.name.isEmpty else { throw error(key, value, "must not be empty") }
        case "topics": workload.topics = try integer(key, value, in: 1...10_000)
        case "partitionsPerTopic": workload.partitionsPerTopic = try integer(key, value, in: counts)
        case "messageSize": workload.messageSize = try integer(key, value, in: 0...(64 << 20))
        case "payloadFile": workload.payloadFile = try scalar(key, value)
        case "useRandomizedPayloads": workload.useRandomizedPayloads = try boolean(key, value)
        case "randomBytesRatio": workload.randomBytesRatio = try number(key, value, in: 0...1)
        case "randomizedPayloadPoolSize": workload.randomizedPayloadPoolSize = try integer(key, value, in: 1...1_000_000)
        case "keyDistributor": workload.keyDistributor = try choice(key, value, KeyDistributor.self)
        case "subscriptionsPerTopic": workload.subscriptionsPerTopic = try integer(key, value, in: 0...1000)
        case "consumerPerSubscription": workload.consumerPerSubscription = try integer(key, value, in: counts)
        case "producersPerTopic": workload.producersPerTopic = try integer(key, value, in: 0...1000)
        case "producerRate": workload.producerRate = try number(key, value, in: 0...1e9)
        case "consumerBacklogSizeGB": workload.consumerBacklogSizeGB = try number(key, value, in: 0...100_000)
        case "backlogDrainRatio": workload.backlogDrainRatio = try number(key, value, in: 0...1)
        case "testDurationMinutes": workload.testDurationMinutes = try number(key, value, in: 0...100_000)
        case "warmupDurationMinutes": workload.warmupDurationMinutes = try number(key, value, in: 0...100_000)
        case "replicationFactor": workload.replicationFactor = try integer(key, value, in: 1...32)
        case "acks": workload.acks = try acks(key, value)
        case "idempotence": workload.idempotence = try boolean(key, value)
        case "batchSize": workload.batchSize = try integer(key, value, in: 0...(64 << 20))
        case "lingerMs": workload.lingerMs = try integer(key, value, in: 0...3_600_000)
        case "compression": workload.compression = try choice(key, value, Compression.self)
        case "keyDistribution": workload.keyDistribution = try keyDistribution(key, value)
        case "target": workload.target = try target(key, value)
        case "durationSeconds": workload.durationSeconds = try number(key, value, in: 0...1e8)
        case "warmupSeconds": workload.warmupSeconds = try number(key, value, in: 0...1e8)
        case "seed": workload.seed = UInt64(try integer(key, value, in: 0...Int.max))
        case "topicConfig": workload.topicConfig = try properties(key, value)
        case "producerConfig": workload.producerConfig = try properties(key, value)
        case "consumerConfig": workload.consumerConfig = try properties(key, value)
        case "brokerConfig": workload.brokerConfig = try properties(key, value)
        case "drainProducerRate": workload.drainProducerRate = try number(key, value, in: 0...1e9)
        case "rateSearch": workload.rateSearch = try rateSearch(key, value)
        case "stampPayloads": workload.stampPayloads = try boolean(key, value)
        case "clientThreads": workload.clientThreads = try integer(key, value, in: 0...64)
        case "dataDirectory":
            workload.dataDirectory = try scalar(key, value)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: workload.dataDirectory!, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw error(key, value, "\(workload.dataDirectory!) is not an existing directory")
            }
        case "checks": workload.checks = try checks(key, value)
        case "faults": workload.faults = try faults(key, value)
        case "exactlyOnce": workload.exactlyOnce = try exactlyOnce(key, value)
        default: throw error(key, value, "unknown field")
        }
    }

    private func acks(_ key: String, _ value: Node) throws(WorkloadError) -> Acks {
        switch try scalar(key, value).lowercased() {
        case "all", "-1": return .all
        case "1", "leader": return .leader
        case "0", "none": return .none
        case let other: throw error(key, value, "must be all, 1 or 0, not '\(other)'")
        }
    }

    /// `none`, `round-robin`, or a mapping `{type: zipf, keys: 10000, exponent: 1.1}`.
    private func keyDistribution(_ key: String, _ value: Node) throws(WorkloadError) -> KeyDistribution {
        let types = ["none", "round-robin", "uniform", "zipf", "hot-set"]
        var fields: [String: Node] = [:]
        if case .scalar(let scalar) = value {
            fields["type"] = Node(scalar.string)
        } else {
            for (name, node) in try mapping(key, value, allowed: ["type", "keys", "exponent", "trafficFraction", "keyFraction"]) { fields[name] = node }
        }
        guard let typeNode = fields["type"] else { throw error(key, value, "needs a type: \(types.joined(separator: ", "))") }
        let type = try scalar("\(key).type", typeNode)
        func keys(default fallback: Int?) throws(WorkloadError) -> Int {
            guard let node = fields["keys"] else {
                guard let fallback else { throw error("\(key).keys", value, "\(type) needs keys: the number of distinct keys") }
                return fallback
            }
            return try integer("\(key).keys", node, in: 1...KeyDistribution.maximumKeys)
        }
        func fraction(_ name: String) throws(WorkloadError) -> Double {
            guard let node = fields[name] else { throw error("\(key).\(name)", value, "hot-set needs \(name), between 0 and 1") }
            return try number("\(key).\(name)", node, in: 0...1)
        }
        let allowed: [String: [String]] = ["none": ["type"], "round-robin": ["type", "keys"], "uniform": ["type", "keys"],
                                           "zipf": ["type", "keys", "exponent"], "hot-set": ["type", "keys", "trafficFraction", "keyFraction"]]
        guard let permitted = allowed[type] else { throw error("\(key).type", typeNode, "must be one of \(types.joined(separator: ", ")), not '\(type)'") }
        if let extra = fields.keys.sorted().first(where: { !permitted.contains($0) }) {
            throw error("\(key).\(extra)", fields[extra], "does not apply to \(type) (it takes \(permitted.joined(separator: ", ")))")
        }
        switch type {
        case "round-robin": return .roundRobin(keys: try keys(default: 10_000))
        case "uniform": return .uniform(keys: try keys(default: 10_000))
        case "zipf":
            let exponent = try fields["exponent"].map { node throws(WorkloadError) in try number("\(key).exponent", node, in: 0...10) } ?? 1.0
            return .zipf(keys: try keys(default: 10_000), exponent: exponent)
        case "hot-set":
            return .hotSet(keys: try keys(default: 10_000), trafficFraction: try fraction("trafficFraction"), keyFraction: try fraction("keyFraction"))
        default: return .none
        }
    }

    /// `embedded`, `engine`, `bootstrap:HOST:PORT` or `{bootstrap: HOST:PORT}`.
    func target(_ key: String, _ value: Node) throws(WorkloadError) -> Target {
        if case .mapping = value {
            let fields = try mapping(key, value, allowed: ["bootstrap", "type"])
            if let (_, address) = fields.first(where: { $0.0 == "bootstrap" }) {
                return try bootstrap(key, address, try scalar("\(key).bootstrap", address))
            }
            if let (_, type) = fields.first(where: { $0.0 == "type" }) { return try target(key, type) }
            throw error(key, value, "must be embedded, engine, or bootstrap: HOST:PORT")
        }
        let text = try scalar(key, value)
        switch text {
        case "embedded": return .embedded
        case "engine": return .engine
        case _ where text.hasPrefix("bootstrap:"): return try bootstrap(key, value, String(text.dropFirst("bootstrap:".count)))
        default: throw error(key, value, "must be embedded, engine, or bootstrap: HOST:PORT, not '\(text)'")
        }
    }

    private func bootstrap(_ key: String, _ node: Node, _ address: String) throws(WorkloadError) -> Target {
        do {
            _ = try ClientConfiguration.parseServers(address)
        } catch let error as KafkaClientError {
            throw self.error("\(key).bootstrap", node, error.message)
        } catch {
            throw self.error("\(key).bootstrap", node, "\(error)")
        }
        return .bootstrap(address)
    }

    private func rateSearch(_ key: String, _ value: Node) throws(WorkloadError) -> RateSearchSettings {
        var settings = RateSearchSettings()
        let names = ["initialRate", "maximumRate", "latencyLimitMs", "backlogLimitSeconds", "stepSeconds", "precision", "maximumSteps"]
        for (name, node) in try mapping(key, value, allowed: names) {
            let field = "\(key).\(name)"
            switch name {
            case "initialRate": settings.initialRate = try number(field, node, in: 1...1e9)
            case "maximumRate": settings.maximumRate = try number(field, node, in: 1...1e9)
            case "latencyLimitMs": settings.latencyLimitMs = try number(field, node, in: 0.001...3_600_000)
            case "backlogLimitSeconds": settings.backlogLimitSeconds = try number(field, node, in: 0.001...3600)
            case "stepSeconds": settings.stepSeconds = try number(field, node, in: 0.5...3600)
            case "precision": settings.precision = try number(field, node, in: 0.001...1)
            default: settings.maximumSteps = try integer(field, node, in: 1...1000)
            }
        }
        guard settings.initialRate <= settings.maximumRate else { throw error("\(key).initialRate", value, "must not exceed rateSearch.maximumRate") }
        return settings
    }
}
