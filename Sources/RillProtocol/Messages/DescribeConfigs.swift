import NIOCore
import RillFormat

/// The kind of resource a config belongs to (int8 on the wire; kafka-protocol.md §2.17).
/// Unnamed values round-trip.
public struct ConfigResourceType: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int8
    public init(rawValue: Int8) { self.rawValue = rawValue }
    public static let unknown = ConfigResourceType(rawValue: 0)
    public static let topic = ConfigResourceType(rawValue: 2)
    public static let broker = ConfigResourceType(rawValue: 4)
    public static let brokerLogger = ConfigResourceType(rawValue: 8)
}

/// Where a config value comes from (int8 on the wire, DescribeConfigs v1+). Unnamed values
/// round-trip.
public struct ConfigSource: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int8
    public init(rawValue: Int8) { self.rawValue = rawValue }
    /// Kafka's placeholder for "not given" (-1), the default when a version lacks the field.
    public static let notGiven = ConfigSource(rawValue: -1)
    public static let unknown = ConfigSource(rawValue: 0)
    public static let topicConfig = ConfigSource(rawValue: 1)
    public static let dynamicBrokerConfig = ConfigSource(rawValue: 2)
    public static let dynamicDefaultBrokerConfig = ConfigSource(rawValue: 3)
    public static let staticBrokerConfig = ConfigSource(rawValue: 4)
    public static let defaultConfig = ConfigSource(rawValue: 5)
    public static let dynamicBrokerLoggerConfig = ConfigSource(rawValue: 6)
}

/// The data type of a config value (int8 on the wire, DescribeConfigs v3+). Unnamed values
/// round-trip.
public struct ConfigType: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int8
    public init(rawValue: Int8) { self.rawValue = rawValue }
    public static let unknown = ConfigType(rawValue: 0)
    public static let boolean = ConfigType(rawValue: 1)
    public static let string = ConfigType(rawValue: 2)
    public static let int = ConfigType(rawValue: 3)
    public static let short = ConfigType(rawValue: 4)
    public static let long = ConfigType(rawValue: 5)
    public static let double = ConfigType(rawValue: 6)
    public static let list = ConfigType(rawValue: 7)
    public static let `class` = ConfigType(rawValue: 8)
    public static let password = ConfigType(rawValue: 9)
}

/// DescribeConfigs (key 32), versions 0–3 (kafka-protocol.md §2.17): the configs of topics and
/// brokers (an admin API).
public struct DescribeConfigsRequest: KafkaRequestMessage, Hashable {
    public typealias Response = DescribeConfigsResponse
    public static let apiKey = ApiKey.describeConfigs

    /// One resource to describe.
    public struct Resource: Hashable, Sendable {
        public var resourceType: ConfigResourceType
        /// A topic name, or a broker id in decimal.
        public var resourceName: String
        /// The config names to describe, or nil for all.
        public var configurationKeys: [String]?

        public init(resourceType: ConfigResourceType, resourceName: String, configurationKeys: [String]? = nil) {
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configurationKeys = configurationKeys
        }
    }

    public var resources: [Resource]
    /// v1+; default false.
    public var includeSynonyms: Bool
    /// v3+; default false.
    public var includeDocumentation: Bool

    public init(resources: [Resource], includeSynonyms: Bool = false, includeDocumentation: Bool = false) {
        self.resources = resources
        self.includeSynonyms = includeSynonyms
        self.includeDocumentation = includeDocumentation
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        resources = try reader.readArray { reader in
            Resource(
                resourceType: ConfigResourceType(rawValue: try reader.readInt8()),
                resourceName: try reader.readString(),
                configurationKeys: try reader.readNullableStringArray()
            )
        }
        includeSynonyms = version >= 1 ? try reader.readBool() : false
        includeDocumentation = version >= 3 ? try reader.readBool() : false
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaArray(resources) { buffer, resource in
            buffer.writeInteger(resource.resourceType.rawValue)
            buffer.writeKafkaString(resource.resourceName)
            buffer.writeKafkaNullableStringArray(resource.configurationKeys)
        }
        if version >= 1 { buffer.writeKafkaBool(includeSynonyms) }
        if version >= 3 { buffer.writeKafkaBool(includeDocumentation) }
    }
}

/// The answer to a DescribeConfigs request: a result per resource.
public struct DescribeConfigsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.describeConfigs

    /// Another source of a config's value, in precedence order (v1+).
    public struct Synonym: Hashable, Sendable {
        public var name: String
        public var value: String?
        public var source: ConfigSource

        public init(name: String, value: String?, source: ConfigSource) {
            self.name = name
            self.value = value
            self.source = source
        }
    }

    /// One config entry. Sensitive values are returned as null.
    public struct Config: Hashable, Sendable {
        public var name: String
        public var value: String?
        public var isReadOnly: Bool
        /// Whether the value is the default (v0 only; default false — v1+ says this with `source`).
        public var isDefault: Bool
        /// v1+; default `.notGiven` (-1).
        public var source: ConfigSource
        public var isSensitive: Bool
        /// v1+; default empty.
        public var synonyms: [Synonym]
        /// v3+; default `.unknown` (0).
        public var configType: ConfigType
        /// v3+; default null.
        public var documentation: String?

        public init(
            name: String, value: String?, isReadOnly: Bool = false, isDefault: Bool = false,
            source: ConfigSource = .notGiven, isSensitive: Bool = false, synonyms: [Synonym] = [],
            configType: ConfigType = .unknown, documentation: String? = nil
        ) {
            self.name = name
            self.value = value
            self.isReadOnly = isReadOnly
            self.isDefault = isDefault
            self.source = source
            self.isSensitive = isSensitive
            self.synonyms = synonyms
            self.configType = configType
            self.documentation = documentation
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            name = try reader.readString()
            value = try reader.readNullableString()
            isReadOnly = try reader.readBool()
            isDefault = version == 0 ? try reader.readBool() : false
            source = version >= 1 ? ConfigSource(rawValue: try reader.readInt8()) : .notGiven
            isSensitive = try reader.readBool()
            synonyms = version >= 1 ? try reader.readArray { reader in
                Synonym(name: try reader.readString(), value: try reader.readNullableString(), source: ConfigSource(rawValue: try reader.readInt8()))
            } : []
            configType = version >= 3 ? ConfigType(rawValue: try reader.readInt8()) : .unknown
            documentation = version >= 3 ? try reader.readNullableString() : nil
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeKafkaString(name)
            buffer.writeKafkaNullableString(value)
            buffer.writeKafkaBool(isReadOnly)
            if version == 0 { buffer.writeKafkaBool(isDefault) }
            if version >= 1 { buffer.writeInteger(source.rawValue) }
            buffer.writeKafkaBool(isSensitive)
            if version >= 1 {
                buffer.writeKafkaArray(synonyms) { buffer, synonym in
                    buffer.writeKafkaString(synonym.name)
                    buffer.writeKafkaNullableString(synonym.value)
                    buffer.writeInteger(synonym.source.rawValue)
                }
            }
            if version >= 3 {
                buffer.writeInteger(configType.rawValue)
                buffer.writeKafkaNullableString(documentation)
            }
        }
    }

    /// One resource's result.
    public struct Result: Hashable, Sendable {
        public var errorCode: ErrorCode
        public var errorMessage: String?
        public var resourceType: ConfigResourceType
        public var resourceName: String
        public var configs: [Config]

        public init(errorCode: ErrorCode = .none, errorMessage: String? = nil, resourceType: ConfigResourceType, resourceName: String, configs: [Config]) {
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.resourceType = resourceType
            self.resourceName = resourceName
            self.configs = configs
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            errorCode = try reader.readErrorCode()
            errorMessage = try reader.readNullableString()
            resourceType = ConfigResourceType(rawValue: try reader.readInt8())
            resourceName = try reader.readString()
            configs = try reader.readArray { try Config(from: &$0, version: version) }
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(errorCode.rawValue)
            buffer.writeKafkaNullableString(errorMessage)
            buffer.writeInteger(resourceType.rawValue)
            buffer.writeKafkaString(resourceName)
            buffer.writeKafkaArray(configs) { buffer, config in config.write(to: &buffer, version: version) }
        }
    }

    /// Present in every version.
    public var throttleTimeMilliseconds: Int32
    public var results: [Result]

    public init(throttleTimeMilliseconds: Int32 = 0, results: [Result]) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.results = results
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = try reader.readInt32()
        results = try reader.readArray { try Result(from: &$0, version: version) }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeInteger(throttleTimeMilliseconds)
        buffer.writeKafkaArray(results) { buffer, result in result.write(to: &buffer, version: version) }
    }
}
