import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillServer
import Testing

/// A real broker in-process, spoken to over TCP. The tests of this suite run one at a time:
/// each starts its own broker, and they share two cores with everything else.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct BrokerServerTests {
    /// A new connection gets a valid ApiVersions response and a Metadata response: the broker
    /// survived whatever the test did before.
    static func expectHealthy(_ broker: TestBroker, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let connection = try broker.connect()
        let versions = try connection.request(ApiVersionsRequest(), version: 2)
        #expect(versions.errorCode == .none, sourceLocation: sourceLocation)
        #expect(versions.apiKeys == BrokerApiVersions.apiVersionsEntries, sourceLocation: sourceLocation)
        let metadata = try connection.metadata(nil)
        #expect(metadata.brokers.map(\.nodeID) == [0], sourceLocation: sourceLocation)
        #expect(metadata.brokers.map(\.port) == [Int32(broker.port)], sourceLocation: sourceLocation)
        #expect(metadata.controllerID == 0, sourceLocation: sourceLocation)
    }

    @Test func aFreshBrokerAnswersApiVersionsAndMetadata() throws {
        let broker = try TestBroker()
        try Self.expectHealthy(broker)
        let metadata = try broker.connect().metadata(nil)
        #expect(metadata.topics.isEmpty)
        #expect(metadata.brokers.map(\.host) == ["127.0.0.1"])
        #expect(metadata.clusterID?.count == 22)
        try broker.stop()
    }

    /// Kafka advertises the port it actually bound when its listener asks for port 0; clients
    /// that bootstrap would otherwise be sent to port 0.
    @Test func aBrokerOnAnEphemeralPortAdvertisesTheBoundPort() throws {
        let broker = try TestBroker()
        #expect(broker.port != 0)
        let connection = try broker.connect()
        let metadata = try connection.metadata(nil)
        #expect(metadata.brokers.map(\.port) == [Int32(broker.port)])
        #expect(metadata.brokers.map(\.host) == ["127.0.0.1"])
        let coordinator = try connection.request(FindCoordinatorRequest(key: "group"), version: 2)
        #expect(coordinator.errorCode == .none)
        #expect(coordinator.port == Int32(broker.port))
        // After a restart the broker binds another ephemeral port and advertises that one.
        try broker.restart()
        #expect(try broker.connect().metadata(nil).brokers.map(\.port) == [Int32(broker.port)])
        try broker.stop()
    }

    @Test func anExplicitAdvertisedListenerIsAdvertisedAsIs() throws {
        let broker = try TestBroker([("advertised.listeners", "PLAINTEXT://public.example:29092")])
        let metadata = try broker.connect().metadata(nil)
        #expect(metadata.brokers.map(\.host) == ["public.example"])
        #expect(metadata.brokers.map(\.port) == [29092])
        try broker.stop()
    }
}
