@testable import RillClient
import Testing

/// The producer's timers take the time left until a monotonic deadline. A deadline that has
/// passed — including one passed between reading the clock and subtracting — is zero, never an
/// unsigned underflow (which crashed the producer's sender under load).
@Suite struct ProducerClockTests {
    @Test func passedDeadlinesAreZero() {
        let now = KafkaProducer.now()
        #expect(KafkaProducer.nanoseconds(until: 0) == 0)
        #expect(KafkaProducer.nanoseconds(until: now) == 0)
        #expect(KafkaProducer.nanoseconds(until: now &- 1) == 0)
    }

    @Test func futureDeadlinesAreAtMostTheirDistance() {
        let second: UInt64 = 1_000_000_000
        let left = KafkaProducer.nanoseconds(until: KafkaProducer.now() + second)
        #expect(left > 0 && left <= Int64(second))
    }
}
