import DequeModule
import Dispatch
import NIOConcurrencyHelpers
import NIOCore

/// Runs Swift tasks on one NIO event loop: a task started with this executor as its preference
/// runs its non-isolated code on the loop's thread, so resuming it from the loop (a response, a
/// timer) is a call on the same thread rather than a wake-up of another one.
///
/// Each client's `KafkaCluster` opens its connections on one loop and offers it as `executor`;
/// the producer's sender and the consumer's fetchers prefer it, and an application can start
/// its own tasks there (`Task(executorPreference:)`) to keep a request's whole path on one
/// thread. Once `close`d (the cluster closes it when it closes), jobs run on a Dispatch queue
/// instead: the loop may shut down next, and a job handed to a loop that has shut down is
/// dropped — its task would never resume.
///
/// Jobs queue here and run in drains: one loop task runs every job queued by the time it ends
/// (at most `drainLimit`, then the loop does its I/O and the drain continues), so a chain of
/// resumptions — a response resuming a request task that resumes the sender — is one pass of
/// the loop, not one pass (and one `epoll_wait`) per job.
public final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    public let eventLoop: any EventLoop
    private let state = NIOLockedValueBox(State())

    private struct State {
        var isOpen = true
        var jobs = Deque<UnownedJob>()
        /// A drain is queued on the loop or running; it will see jobs queued now.
        var isDraining = false
    }

    /// Jobs a drain runs before it lets the loop do I/O.
    static let drainLimit = 256

    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        enum Action { case none, drain, dispatch }
        let action = state.withLockedValue { state -> Action in
            guard state.isOpen else { return .dispatch }
            state.jobs.append(job)
            if state.isDraining { return .none }
            state.isDraining = true
            return .drain
        }
        switch action {
        case .none: break
        case .drain: eventLoop.execute { self.drain() }
        case .dispatch:
            let executor = asUnownedTaskExecutor()
            DispatchQueue.global().async { job.runSynchronously(on: executor) }
        }
    }

    private func drain() {
        let executor = asUnownedTaskExecutor()
        for _ in 0..<Self.drainLimit {
            let next = state.withLockedValue { state -> UnownedJob? in
                if let job = state.jobs.popFirst() { return job }
                state.isDraining = false
                return nil
            }
            guard let next else { return }
            next.runSynchronously(on: executor)
        }
        eventLoop.execute { self.drain() }
    }

    /// From now on, jobs run off the loop (it may be about to shut down); jobs still queued
    /// go there too.
    public func close() {
        let queued = state.withLockedValue { state in
            state.isOpen = false
            defer { state.jobs.removeAll() }
            return Array(state.jobs)
        }
        let executor = asUnownedTaskExecutor()
        for job in queued { DispatchQueue.global().async { job.runSynchronously(on: executor) } }
    }

    /// Sleeps until `deadline` on the loop's timer: the task resumes on the loop's thread with
    /// no other thread involved (`Task.sleep` fires on a timer thread that then wakes the loop).
    public func sleep(until deadline: NIODeadline) async {
        _ = try? await eventLoop.scheduleTask(deadline: deadline) {}.futureResult.get()
    }
}
