import Foundation
import Testing

/// Real Kafka clients — kcat (librdkafka 2.0), confluent-kafka (librdkafka 2.x) and
/// kafka-python 3.x — against `rill broker` processes: whatever a Kafka user would run against
/// a broker must work. Every test starts its own broker on a free 127.0.0.1 port with a
/// temporary data directory. The clients come from `make deps`; a missing one fails the test.
///
/// Serialized: each test runs a broker and client processes, and the machine is small and
/// shared; one at a time keeps every deadline far from the time things really take.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct InteropTests {
    static let codecs = ["none", "gzip", "snappy", "lz4", "zstd"]

    /// Wall-clock milliseconds, to bound the timestamps a client assigns.
    static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
