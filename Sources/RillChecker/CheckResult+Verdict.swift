extension CheckResult {
    /// The verdict as HISTORY-FORMAT.md shows it, with keys in a fixed order:
    ///
    /// ```json
    /// {"valid": false,
    ///  "anomalies": {"lost-write": [{"partition": "t-0", "value": "v17", "offset": 42, "sent-by": 3, …}]},
    ///  "anomaly-counts": {"lost-write": 1},
    ///  "invalidating": ["lost-write"], "allowed": [],
    ///  "configuration": {…}, "stats": {"operations": 10234, …}, "notes": []}
    /// ```
    ///
    /// `anomalies` lists at most `configuration.examplesPerAnomaly` examples per name (in
    /// partition and offset order); `anomaly-counts` has the totals. Names are sorted.
    public func verdictJSON() -> String {
        var out = "{\n"
        out += "  \"valid\": \(isValid),\n"
        out += "  \"anomalies\": {"
        let names = anomalyNames
        for (position, name) in names.enumerated() {
            out += position == 0 ? "\n" : ",\n"
            out += "    \(JSONText.string(name.rawValue)): ["
            let examples = anomalies[name]?.examples ?? []
            for (exampleIndex, example) in examples.enumerated() {
                out += exampleIndex == 0 ? "\n      " : ",\n      "
                out += Self.object(example.fields)
            }
            out += examples.isEmpty ? "]" : "\n    ]"
        }
        out += names.isEmpty ? "},\n" : "\n  },\n"
        out += "  \"anomaly-counts\": {" + names.map { "\(JSONText.string($0.rawValue)): \(anomalies[$0]?.count ?? 0)" }.joined(separator: ", ") + "},\n"
        out += "  \"invalidating\": " + JSONText.strings(invalidatingAnomalies.map(\.rawValue)) + ",\n"
        out += "  \"allowed\": " + JSONText.strings(allowedAnomaliesFound.map(\.rawValue)) + ",\n"
        out += "  \"configuration\": " + configurationJSON() + ",\n"
        out += "  \"stats\": {" + statistics.fields.map { "\(JSONText.string($0.0)): \($0.1)" }.joined(separator: ", ") + "},\n"
        out += "  \"notes\": " + JSONText.strings(notes) + "\n"
        out += "}\n"
        return out
    }

    private func configurationJSON() -> String {
        let allowed = configuration.effectiveAllowedAnomalies.map(\.rawValue).sorted()
        return "{\"consumer-mode\": \(JSONText.string(configuration.consumerMode.rawValue)), "
            + "\"idempotence\": \(configuration.isIdempotenceEnabled), "
            + "\"allowed-anomalies\": \(JSONText.strings(allowed)), "
            + "\"examples-per-anomaly\": \(configuration.examplesPerAnomaly)}"
    }

    private static func object(_ fields: [ExampleField]) -> String {
        "{" + fields.map { "\(JSONText.string($0.key)): \(JSONText.value($0.value))" }.joined(separator: ", ") + "}"
    }
}

/// Writing JSON text by hand, so key order and formatting are fixed (deterministic output).
public enum JSONText {
    public static func string(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    public static func strings(_ texts: [String]) -> String {
        "[" + texts.map(string).joined(separator: ", ") + "]"
    }

    static func value(_ value: ExampleValue) -> String {
        switch value {
        case .null: "null"
        case .integer(let integer): String(integer)
        case .string(let text): string(text)
        case .integers(let integers): "[" + integers.map(String.init).joined(separator: ", ") + "]"
        case .strings(let texts): strings(texts)
        }
    }
}
