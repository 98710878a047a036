import Testing
@testable import RillClient

/// The producer's sender sleeps on a `WakeupSignal` between passes: no signal may be lost, and
/// signals made while it works count as one more pass, not one each. A lost signal leaves a
/// wait hanging: the time limit turns that into a failure.
@Suite(.timeLimit(.minutes(1))) struct WakeupSignalTests {
    @Test func signalsMadeBeforeAWaitAreKeptAsOne() async {
        let signal = WakeupSignal()
        signal.signal()
        signal.signal()
        #expect(await signal.wait())
        signal.finish()
        #expect(await signal.wait() == false, "the two signals were one pass")
    }

    @Test func aWaitingTaskIsWokenByTheNextSignal() async {
        let signal = WakeupSignal()
        let waiter = Task { await signal.wait() }
        while !signal.hasWaiter { await Task.yield() }
        signal.signal()
        #expect(await waiter.value)
    }

    @Test func finishEndsAWaitingTaskAndEveryLaterWait() async {
        let signal = WakeupSignal()
        let waiter = Task { await signal.wait() }
        while !signal.hasWaiter { await Task.yield() }
        signal.finish()
        #expect(await waiter.value == false)
        signal.signal()
        #expect(await signal.wait() == false, "a signal after finish is dropped")
    }

    @Test func aSignalPendingAtFinishIsStillTaken() async {
        let signal = WakeupSignal()
        signal.signal()
        signal.finish()
        #expect(await signal.wait())
        #expect(await signal.wait() == false)
    }

    /// A thousand signals from other tasks, each waited for in turn by one task: every one
    /// wakes it (none is lost between its check and its suspension).
    @Test func noSignalIsLostToARace() async {
        let signal = WakeupSignal()
        for _ in 0..<1_000 {
            async let signalled: Void = Task.detached { signal.signal() }.value
            #expect(await signal.wait())
            await signalled
        }
    }
}
