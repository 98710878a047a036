import Foundation
import RillClient
import Yams

extension NodeReader {
    /// Rules between fields, and the payload file.
    func validate(_ workload: inout Workload, given: Set<String>, root: Node.Mapping) throws(WorkloadError) {
        func fail(_ field: String, _ reason: String) -> WorkloadError { error(field, root[field], reason) }
        // Kafka's rule: idempotence needs acks=all; when only acks was lowered, idempotence goes off.
        if workload.acks != .all {
            if given.contains("idempotence") && workload.idempotence {
                throw fail("idempotence", "true requires acks: all (acks is \(workload.acks.rawValue))")
            }
            workload.idempotence = false
        }
        if workload.consumerBacklogSizeGB > 0 && workload.producerRate == 0 {
            throw fail("consumerBacklogSizeGB", "needs a fixed producerRate (as in OMB): the maximum-rate search cannot run while consumers hold back")
        }
        if workload.consumerBacklogSizeGB > 0 && workload.subscriptionsPerTopic == 0 {
            throw fail("consumerBacklogSizeGB", "needs consumers (subscriptionsPerTopic > 0)")
        }
        if workload.producerRate == 0 && workload.subscriptionsPerTopic == 0 && workload.target != .engine {
            throw fail("producerRate", "0 (find the maximum rate) needs consumers: the backlog is half of what decides")
        }
        if workload.measuredSeconds <= 0 { throw fail(given.contains("durationSeconds") ? "durationSeconds" : "testDurationMinutes", "the measured phase must be longer than 0") }
        if workload.replicationFactor > 1, case .embedded = workload.target {
            throw fail("replicationFactor", "\(workload.replicationFactor) needs \(workload.replicationFactor) brokers; the embedded target runs one broker until replication exists (use bootstrap: HOST:PORT for a cluster)")
        }
        if workload.replicationFactor > 1, case .engine = workload.target {
            throw fail("replicationFactor", "the engine target is one partition log per partition, without replicas")
        }
        if workload.producerCount == 0 { throw fail("producersPerTopic", "must be at least 1") }
        if workload.target == .engine && workload.consumerBacklogSizeGB > 0 {
            throw fail("consumerBacklogSizeGB", "the engine target has no consumers to hold back")
        }
        for (name, _) in workload.producerConfig {
            if let typed = Self.typedProducerProperties[name] {
                throw error("producerConfig.\(name)", root["producerConfig"], "is set by the typed field \(typed); set that instead")
            }
        }
        try checkClientProperties(workload)
        try validateChecks(&workload, root: root)
        if let path = workload.payloadFile {
            let resolved = path.hasPrefix("/") || directory.isEmpty ? path : (directory as NSString).appendingPathComponent(path)
            let bytes: [UInt8]
            do { bytes = try readFile(resolved) } catch {
                throw fail("payloadFile", "cannot read \(resolved): \((error as NSError).localizedDescription)")
            }
            guard bytes.count == workload.messageSize else {
                throw fail("payloadFile", "\(resolved) has \(bytes.count) bytes but messageSize is \(workload.messageSize); they must be equal (as in OMB)")
            }
            workload.payloadFile = resolved
        }
    }

    /// Builds the client configurations once, so an unknown or bad property fails here, named.
    private func checkClientProperties(_ workload: Workload) throws(WorkloadError) {
        do {
            _ = try ClientSettings.producer(workload, bootstrap: "127.0.0.1:9092")
        } catch {
            throw self.error("producerConfig", nil, error.message)
        }
        do {
            _ = try ClientSettings.consumer(workload, bootstrap: "127.0.0.1:9092", group: "check")
        } catch {
            throw self.error("consumerConfig", nil, error.message)
        }
    }
}

/// The Kafka client settings a workload implies.
enum ClientSettings {
    static func producerProperties(_ workload: Workload, bootstrap: String, defaults: [String: String] = [:]) -> [String: String] {
        var properties = defaults.merging(workload.producerConfig) { $1 }
        properties["bootstrap.servers"] = bootstrap
        properties["acks"] = workload.acks.rawValue
        properties["enable.idempotence"] = workload.idempotence ? "true" : "false"
        properties["batch.size"] = String(workload.batchSize)
        properties["linger.ms"] = String(workload.lingerMs)
        properties["compression.type"] = workload.compression.rawValue
        return properties
    }

    static func producer(_ workload: Workload, bootstrap: String, defaults: [String: String] = [:]) throws(KafkaClientError) -> ProducerConfiguration {
        do {
            return try ProducerConfiguration(properties: producerProperties(workload, bootstrap: bootstrap, defaults: defaults))
        } catch let error as KafkaClientError {
            throw error
        } catch {
            throw KafkaClientError(.invalidConfiguration, "\(error)")
        }
    }

    static func consumer(_ workload: Workload, bootstrap: String, group: String, defaults: [String: String] = [:]) throws(KafkaClientError) -> ConsumerConfiguration {
        // A benchmark consumer hands whole fetches over at once: fewer, larger polls.
        var properties = ["auto.offset.reset": "earliest", "max.poll.records": "10000"].merging(defaults) { $1 }
        properties.merge(workload.consumerConfig) { $1 }
        properties["bootstrap.servers"] = bootstrap
        properties["group.id"] = group
        do {
            return try ConsumerConfiguration(properties: properties)
        } catch let error as KafkaClientError {
            throw error
        } catch {
            throw KafkaClientError(.invalidConfiguration, "\(error)")
        }
    }
}
