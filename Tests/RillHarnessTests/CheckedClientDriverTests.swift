import NIOCore
import RillChecker
import RillClient
@testable import RillHarness
import Testing

/// The correctness driver's decisions as values: how an error becomes `fail` or `info`, and how
/// a value string travels in a record.
@Suite struct CheckedClientDriverTests {
    @Test func onlyABrokersDefiniteRefusalIsAFailAnythingElseIsInfo() {
        #expect(CheckedClientDriver.completionType(of: KafkaClientError.broker(.notCoordinator, "commit")) == .fail)
        #expect(CheckedClientDriver.completionType(of: KafkaClientError(.timedOut, "no answer")) == .info, "a timeout is unknown, whatever outcome the error claims")
        #expect(CheckedClientDriver.completionType(of: KafkaClientError(.connectionClosed, "gone", outcome: .unknown)) == .info)
        var unknown = KafkaClientError.broker(.requestTimedOut, "produce")
        unknown.outcome = .unknown
        #expect(CheckedClientDriver.completionType(of: unknown) == .info)
        #expect(CheckedClientDriver.completionType(of: CancellationError()) == .info)
    }

    @Test func theValueStringTravelsAtTheStartOfThePaddedPayload() {
        let payload = CheckedClientDriver.payload("v1234", size: 64)
        #expect(payload.readableBytes == 64)
        #expect(CheckedClientDriver.valueString(payload) == "v1234")
        #expect(CheckedClientDriver.payload("v1234", size: 2).readableBytes == 5, "a value longer than messageSize is not cut")
        #expect(CheckedClientDriver.valueString(nil) == "")
    }

    @Test func theCheckerConfigurationFollowsTheWorkload() {
        var checks = CorrectnessChecks()
        checks.allow = ["duplicate", "unseen"]
        let configuration = checks.checkerConfiguration(isIdempotent: false)
        #expect(configuration.consumerMode == .assign)
        #expect(!configuration.isIdempotenceEnabled)
        #expect(configuration.allowedAnomalies == [.duplicate, .unseen])
    }
}
