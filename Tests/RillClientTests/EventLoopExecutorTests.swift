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
}
