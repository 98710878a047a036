import RillProtocol
import Testing
@testable import RillClient

/// Which failures of a coordinator request the consumer tries again. `ConsumerCoordinator` is an
/// actor that speaks to sockets itself (it has no sans-IO seam to feed a FindCoordinator answer
/// into), so these test the classification that `join`, `sync`, the offset requests and
/// `rebalance` share: what it says retriable is retried, anything else ends the attempt.
@Suite struct ConsumerCoordinatorTests {
    @Test func aCoordinatorThatIsLoadingMovingOrNotAvailableIsRetried() {
        for code in [ErrorCode.coordinatorLoadInProgress, .coordinatorNotAvailable, .notCoordinator, .requestTimedOut] {
            #expect(ConsumerCoordinator.isRetriable(KafkaClientError.broker(code, "finding the coordinator of group g")), "\(code)")
        }
    }

    @Test func connectionFailuresAreRetried() {
        #expect(ConsumerCoordinator.isRetriable(KafkaClientError(.connectionFailed, "connection refused")))
        #expect(ConsumerCoordinator.isRetriable(TransportErrorStandIn()))
    }

    @Test func otherBrokerAnswersAndAClosedConsumerAreNotRetried() {
        for code in [ErrorCode.inconsistentGroupProtocol, .invalidSessionTimeout, .groupAuthorizationFailed] {
            #expect(!ConsumerCoordinator.isRetriable(KafkaClientError.broker(code, "joining group g")), "\(code)")
        }
        #expect(!ConsumerCoordinator.isRetriable(KafkaClientError(.closed, "the consumer is closed")))
    }
}

/// An error from below the client (a NIO channel error, say) rather than a `KafkaClientError`.
private struct TransportErrorStandIn: Error {}
