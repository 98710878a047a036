import Dispatch
import Foundation

/// Makes SIGINT and SIGTERM call `handler` (on a global dispatch queue, once per signal
/// received) instead of ending the process. The caller owns the returned sources: while they
/// live the signals are handled; it cancels them when it stops listening.
func terminationSignalSources(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { handler() }
        source.resume()
        return source
    }
}

/// Calls `handler` once standard input ends — the parent closed it, or died — on a thread of
/// its own named `threadName` that reads and discards the input until then. The thread lives
/// until the input ends (at most as long as the process); nothing needs to stop it.
func onStandardInputEnd(threadName: String, _ handler: @escaping @Sendable () -> Void) {
    let thread = Thread {
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
        }
        handler()
    }
    thread.name = threadName
    thread.start()
}
