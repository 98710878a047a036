import RillChecker
import Yams

extension NodeReader {
    /// `checks: {consumers: assign|subscribe, finalReadSeconds: S, allow: [anomaly, …]}`, or
    /// `checks: true` for the defaults.
    func checks(_ key: String, _ value: Node) throws(WorkloadError) -> CorrectnessChecks? {
        var checks = CorrectnessChecks()
        if case .scalar = value {
            return try boolean(key, value) ? checks : nil
        }
        for (name, node) in try mapping(key, value, allowed: ["consumers", "finalReadSeconds", "allow"]) {
            let field = "\(key).\(name)"
            switch name {
            case "consumers": checks.consumers = try choice(field, node, CheckerConfiguration.ConsumerMode.self)
            case "finalReadSeconds": checks.finalReadSeconds = try number(field, node, in: 1...3600)
            default:
                guard case .sequence(let sequence) = node else { throw error(field, node, "must be a list of anomaly names, e.g. [duplicate]") }
                for item in sequence {
                    let anomaly = try scalar(field, item)
                    guard AnomalyName(name: anomaly) != nil else {
                        throw error(field, item, "unknown anomaly '\(anomaly)'\(Self.suggestion(for: anomaly, among: AnomalyName.allCases.map(\.rawValue)))")
                    }
                    checks.allow.append(anomaly)
                }
            }
        }
        return checks
    }

    /// `faults: {schedule: [{at, fault, target, duration, milliseconds, bytesPerSecond}, …],
    /// random: {interval, duration, startAfter, kinds}, powerLoss: true}`.
    func faults(_ key: String, _ value: Node) throws(WorkloadError) -> FaultPlan {
        var plan = FaultPlan()
        for (name, node) in try mapping(key, value, allowed: ["schedule", "random", "powerLoss"]) {
            let field = "\(key).\(name)"
            switch name {
            case "powerLoss": plan.powerLoss = try boolean(field, node)
            case "random": plan.random = try randomMix(field, node)
            default:
                guard case .sequence(let sequence) = node else { throw error(field, node, "must be a list of faults, e.g. - {at: 10, fault: kill, duration: 3}") }
                for (index, item) in sequence.enumerated() { plan.schedule.append(try faultEvent("\(field)[\(index)]", item)) }
            }
        }
        return plan
    }

    private func faultEvent(_ field: String, _ eventNode: Node) throws(WorkloadError) -> FaultEvent {
        let fields = try mapping(field, eventNode, allowed: ["at", "fault", "target", "duration", "milliseconds", "bytesPerSecond"])
        func node(_ name: String) -> Node? { fields.first { $0.0 == name }?.1 }
        guard let kindNode = node("fault") else { throw error(field, eventNode, "needs fault: one of \(FaultKind.allCases.map(\.rawValue).joined(separator: ", "))") }
        guard let atNode = node("at") else { throw error(field, eventNode, "needs at: the second (after the producers start) the fault begins") }
        let kind = try choice("\(field).fault", kindNode, FaultKind.self)
        let at = try number("\(field).at", atNode, in: 0...1e6)
        let duration = try node("duration").map { item throws(WorkloadError) in try number("\(field).duration", item, in: 0...1e6) } ?? (kind.isInstant ? 0 : 3)
        var amount: Int?
        if let item = node("milliseconds") {
            guard kind == .delay else { throw error("\(field).milliseconds", item, "applies to delay only") }
            amount = try integer("\(field).milliseconds", item, in: 1...600_000)
        }
        if let item = node("bytesPerSecond") {
            guard kind == .slow else { throw error("\(field).bytesPerSecond", item, "applies to slow only") }
            amount = try integer("\(field).bytesPerSecond", item, in: 1...1_000_000_000)
        }
        let target = try node("target").map { item throws(WorkloadError) in try faultTarget("\(field).target", item, kind: kind) }
        return FaultEvent(at: at, kind: kind, target: target, duration: duration, amount: amount)
    }

    /// `broker-N` for broker faults, `clients` or `broker-N` for link faults, `producer-N` or
    /// `consumer-N` for a client crash. Indexes are checked against the workload in `validate`.
    private func faultTarget(_ field: String, _ node: Node, kind: FaultKind) throws(WorkloadError) -> String {
        let text = try scalar(field, node)
        let prefixes = kind.isBrokerFault ? ["broker-"] : kind.isLinkFault ? ["broker-"] : ["producer-", "consumer-"]
        if kind.isLinkFault && text == "clients" { return text }
        guard let prefix = prefixes.first(where: { text.hasPrefix($0) }), Int(text.dropFirst(prefix.count)) != nil else {
            let allowed = kind.isBrokerFault ? "broker-N" : kind.isLinkFault ? "clients or broker-N" : "producer-N or consumer-N"
            throw error(field, node, "\(kind.rawValue) acts on \(allowed), not '\(text)'")
        }
        return text
    }

    private func randomMix(_ field: String, _ node: Node) throws(WorkloadError) -> FaultPlan.RandomMix {
        var mix = FaultPlan.RandomMix()
        for (name, item) in try mapping(field, node, allowed: ["interval", "duration", "startAfter", "kinds"]) {
            let path = "\(field).\(name)"
            switch name {
            case "interval": mix.interval = try number(path, item, in: 0.5...1e6)
            case "duration": mix.duration = try number(path, item, in: 0...1e6)
            case "startAfter": mix.startAfter = try number(path, item, in: 0...1e6)
            default:
                guard case .sequence(let sequence) = item, !sequence.isEmpty else { throw error(path, item, "must be a non-empty list of fault kinds") }
                mix.kinds = []
                for kind in sequence { mix.kinds.append(try choice(path, kind, FaultKind.self)) }
            }
        }
        guard mix.duration < mix.interval else { throw error("\(field).duration", node, "must be shorter than random.interval (faults run one at a time)") }
        return mix
    }

    /// Rules between `checks`, `faults` and the rest of the workload.
    func validateChecks(_ workload: inout Workload, root: Node.Mapping) throws(WorkloadError) {
        func fail(_ field: String, _ reason: String) -> WorkloadError { error(field, root[field], reason) }
        if workload.checks != nil {
            if workload.target == .engine { throw fail("checks", "need clients: the engine target has no producers or consumers to record") }
            if workload.producerRate == 0 { throw fail("checks", "need a fixed producerRate (a correctness run does not search for the maximum rate)") }
        }
        guard let plan = workload.faults else { return }
        guard workload.checks != nil else { throw fail("faults", "needs checks: (faults are recorded in the history and judged by the checker)") }
        let events = plan.events(seconds: workload.measuredSeconds, seed: workload.seed, brokers: workload.replicationFactor,
                                 producers: workload.producerCount, consumers: workload.consumerCount)
        let needsEmbedded = plan.powerLoss || events.contains { $0.kind != .crashClient }
        if needsEmbedded, workload.target != .embedded {
            throw fail("faults", "broker, link and disk faults need the embedded target (the harness must own the brokers); only crash-client works on \(workload.target)")
        }
        for event in events {
            let parts = event.target.split(separator: "-")
            guard parts.count == 2, let index = Int(parts[1]) else { continue }
            let limit = parts[0] == "broker" ? workload.replicationFactor : parts[0] == "producer" ? workload.producerCount : workload.consumerCount
            guard index < limit else { throw fail("faults", "\(event.kind.rawValue) at \(event.at) s targets \(event.target), but the workload has \(limit) \(parts[0])s") }
        }
        if plan.powerLoss { workload.brokerConfig["rill.simulate.power.loss"] = "true" }
    }
}
