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
public final class EventLoopExecutor: TaskExecutor {
    public let eventLoop: any EventLoop
    private let isOpen = NIOLockedValueBox(true)

    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // Queued under the lock, so `close` cannot fall between the check and the queueing.
        let isQueued = isOpen.withLockedValue { isOpen in
            if isOpen { eventLoop.execute { job.runSynchronously(on: executor) } }
            return isOpen
        }
        if !isQueued { DispatchQueue.global().async { job.runSynchronously(on: executor) } }
    }

    /// From now on, jobs run off the loop (it may be about to shut down).
    public func close() {
        isOpen.withLockedValue { $0 = false }
    }

    /// Sleeps until `deadline` on the loop's timer: the task resumes on the loop's thread with
    /// no other thread involved (`Task.sleep` fires on a timer thread that then wakes the loop).
    public func sleep(until deadline: NIODeadline) async {
        _ = try? await eventLoop.scheduleTask(deadline: deadline) {}.futureResult.get()
    }
}
