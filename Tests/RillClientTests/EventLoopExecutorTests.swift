import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RillClient
import Testing

/// Tasks that prefer a client's executor run on its event loop; its sleep resumes there; and
/// once closed, a task still finishes after the loop has shut down (a job handed to a dead loop
/// is dropped by NIO, and the task would hang).
@Suite struct EventLoopExecutorTests {
    @Test func tasksRunOnTheLoopAndSleepOnItsTimer() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = EventLoopExecutor(group.next())
        let onLoop = await Task(executorPreference: executor) { () async -> [Bool] in
            var seen = [executor.eventLoop.inEventLoop]
            let start = NIODeadline.now()
            await executor.sleep(until: start + .milliseconds(5))
            seen.append(executor.eventLoop.inEventLoop)
            seen.append(NIODeadline.now() >= start + .milliseconds(5))
            return seen
        }.value
        #expect(onLoop == [true, true, true])
        try await group.shutdownGracefully()
    }

    @Test func aClosedExecutorRunsItsTasksAfterTheLoopShutDown() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = EventLoopExecutor(group.next())
        executor.close()
        try await group.shutdownGracefully()
        let result = await Task(executorPreference: executor) { () async -> Int in
            await Task.yield()
            return 42
        }.value
        #expect(result == 42)
    }

    /// Jobs queued while the loop is busy run in one drain, in order, each on the loop; jobs
    /// still queued when the executor closes run off the loop, so their tasks finish even
    /// though the loop shuts down without running them.
    @Test func queuedJobsRunInOrderAndSurviveClose() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = EventLoopExecutor(group.next())
        let order = NIOLockedValueBox<[Int]>([])
        let tasks = (0..<300).map { index in
            Task(executorPreference: executor) { () async -> Bool in
                order.withLockedValue { $0.append(index) }
                return executor.eventLoop.inEventLoop
            }
        }
        var onLoop = true
        for task in tasks { onLoop = await task.value && onLoop }
        #expect(onLoop)
        #expect(order.withLockedValue { $0 } == Array(0..<300))

        // Hold the loop; a task's first job is queued when the task is created, so the late
        // tasks' jobs wait in the executor behind the held loop when it closes.
        let release = DispatchSemaphore(value: 0)
        executor.eventLoop.execute { release.wait() }
        let late = (0..<10).map { index in Task(executorPreference: executor) { (index, executor.eventLoop.inEventLoop) } }
        executor.close()
        release.signal()
        try await group.shutdownGracefully()
        var results: [Int] = []
        var ranOnLoop = false
        for task in late {
            let (index, inLoop) = await task.value
            results.append(index)
            ranOnLoop = ranOnLoop || inLoop
        }
        #expect(results == Array(0..<10))
        #expect(!ranOnLoop, "jobs queued at close run off the loop")
    }
}
