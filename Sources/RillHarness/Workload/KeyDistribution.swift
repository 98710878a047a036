import RillFormat

/// How a producer keys its records. Keys are `k` followed by a key index (`k17`), so a key names
/// its index and a skew can be read off the data.
public enum KeyDistribution: Sendable, Equatable, Encodable {
    /// No key: the client's partitioner spreads records (sticky partitioning).
    case none
    /// Keys 0, 1, …, keys−1, 0, … in turn.
    case roundRobin(keys: Int)
    /// Every key equally likely.
    case uniform(keys: Int)
    /// Key i (0-based rank) with probability proportional to 1 / (i+1)^exponent.
    case zipf(keys: Int, exponent: Double)
    /// A fraction `trafficFraction` of the records goes to the first `keyFraction` of the keys
    /// (uniformly among them), the rest uniformly to the other keys.
    case hotSet(keys: Int, trafficFraction: Double, keyFraction: Double)

    /// The most keys a distribution may have (its tables and key bytes are kept in memory).
    public static let maximumKeys = 1_000_000

    public var keyCount: Int {
        switch self {
        case .none: 0
        case .roundRobin(let keys), .uniform(let keys), .zipf(let keys, _), .hotSet(let keys, _, _): keys
        }
    }

    private enum CodingKeys: String, CodingKey { case type, keys, exponent, trafficFraction, keyFraction }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .none:
            try container.encode("none", forKey: .type)
        case .roundRobin(let keys):
            try container.encode("round-robin", forKey: .type)
            try container.encode(keys, forKey: .keys)
        case .uniform(let keys):
            try container.encode("uniform", forKey: .type)
            try container.encode(keys, forKey: .keys)
        case .zipf(let keys, let exponent):
            try container.encode("zipf", forKey: .type)
            try container.encode(keys, forKey: .keys)
            try container.encode(exponent, forKey: .exponent)
        case .hotSet(let keys, let trafficFraction, let keyFraction):
            try container.encode("hot-set", forKey: .type)
            try container.encode(keys, forKey: .keys)
            try container.encode(trafficFraction, forKey: .trafficFraction)
            try container.encode(keyFraction, forKey: .keyFraction)
        }
    }
}

/// Draws key indices from a `KeyDistribution`, seeded: the same seed gives the same keys.
/// O(log keys) per draw for Zipf (a binary search of the cumulative table), O(1) otherwise.
public struct KeyChooser: Sendable {
    public let distribution: KeyDistribution
    private var generator: SplitMix64
    private var next = 0
    /// Cumulative probabilities for Zipf.
    private let cumulative: [Double]
    private let hotKeyCount: Int

    public init(_ distribution: KeyDistribution, seed: UInt64) {
        self.distribution = distribution
        generator = SplitMix64(seed: seed)
        switch distribution {
        case .zipf(let keys, let exponent):
            var table = [Double](repeating: 0, count: keys)
            var sum = 0.0
            for rank in 0..<keys {
                sum += 1 / pow(Double(rank + 1), exponent)
                table[rank] = sum
            }
            cumulative = table.map { $0 / sum }
            hotKeyCount = 0
        case .hotSet(let keys, _, let keyFraction):
            cumulative = []
            hotKeyCount = min(keys, max(1, Int((Double(keys) * keyFraction).rounded())))
        default:
            cumulative = []
            hotKeyCount = 0
        }
    }

    /// The next key index, or nil for no key.
    public mutating func nextKey() -> Int? {
        switch distribution {
        case .none:
            return nil
        case .roundRobin(let keys):
            defer { next = next + 1 == keys ? 0 : next + 1 }
            return next
        case .uniform(let keys):
            return Int(generator.next() % UInt64(keys))
        case .zipf:
            let draw = unitInterval()
            var low = 0
            var high = cumulative.count - 1
            while low < high {
                let middle = (low + high) / 2
                if cumulative[middle] < draw { low = middle + 1 } else { high = middle }
            }
            return low
        case .hotSet(let keys, let trafficFraction, _):
            let isHot = unitInterval() < trafficFraction || hotKeyCount == keys
            if isHot { return Int(generator.next() % UInt64(hotKeyCount)) }
            return hotKeyCount + Int(generator.next() % UInt64(keys - hotKeyCount))
        }
    }

    /// A uniform double in [0, 1).
    private mutating func unitInterval() -> Double {
        Double(generator.next() >> 11) * 0x1.0p-53
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
