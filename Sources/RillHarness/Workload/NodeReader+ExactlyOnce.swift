import Yams

extension NodeReader {
    /// `exactlyOnce:`: the exactly-once workload's settings (`ExactlyOnceSettings`); `{}` takes
    /// every default.
    func exactlyOnce(_ key: String, _ value: Node) throws(WorkloadError) -> ExactlyOnceSettings {
        var settings = ExactlyOnceSettings()
        if case .scalar(let scalar) = value, scalar.string.isEmpty || scalar.string == "{}" { return settings }
        for (name, node) in try mapping(key, value, allowed: ExactlyOnceSettings.fieldNames) {
            let field = "\(key).\(name)"
            switch name {
            case "consumers": settings.consumers = try integer(field, node, in: 1...64)
            case "mode": settings.mode = try choice(field, node, ExactlyOnceConsumer.Mode.self)
            case "kills": settings.kills = try integer(field, node, in: 0...10_000)
            case "pauses": settings.pauses = try integer(field, node, in: 0...10_000)
            case "pauseMs": settings.pauseMs = try integer(field, node, in: 0...3_600_000)
            case "killIntervalMs": settings.killIntervalMs = try integer(field, node, in: 1...3_600_000)
            case "maxPollRecords": settings.maxPollRecords = try integer(field, node, in: 1...100_000)
            case "sessionTimeoutMs": settings.sessionTimeoutMs = try integer(field, node, in: 100...3_600_000)
            case "offsetStoreIntervalMs": settings.offsetStoreIntervalMs = try integer(field, node, in: 0...3_600_000)
            default: settings.catchUpTimeoutSeconds = try number(field, node, in: 1...3_600)
            }
        }
        return settings
    }
}
