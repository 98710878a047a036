import Synchronization

/// Wakes one waiting task: signals made while it is not waiting are kept as one, so a wait
/// after any number of them returns at once, and a wait with none pending suspends until the
/// next. What the producer's sender waits on between passes.
///
/// An `AsyncStream<Void>` with `bufferingNewest(1)` does the same, but every `yield` and `next`
/// goes through the standard library's unspecialised generic code (runtime metadata lookups
/// each time), and the sender is woken once per record at linger 0.
final class WakeupSignal: Sendable {
    private struct State {
        var isSignalled = false
        var isFinished = false
        var waiter: CheckedContinuation<Bool, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard !state.isFinished else { return nil }
            guard let waiter = state.waiter else {
                state.isSignalled = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }

    /// No more signals: a wait returns false once a pending signal has been taken.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.isFinished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: false)
    }

    /// Waits for a signal made since the last wait; false when finished instead. One task waits
    /// at a time.
    func wait() async -> Bool {
        if let now = state.withLock({ Self.take(&$0) }) { return now }
        return await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool? in
                if let now = Self.take(&state) { return now }
                precondition(state.waiter == nil, "one task waits on a WakeupSignal at a time")
                state.waiter = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    /// Whether a task is suspended in `wait` (for tests).
    var hasWaiter: Bool { state.withLock { $0.waiter != nil } }

    /// The outcome of a wait that need not suspend: a pending signal (taken), or the end.
    private static func take(_ state: inout State) -> Bool? {
        if state.isSignalled {
            state.isSignalled = false
            return true
        }
        return state.isFinished ? false : nil
    }
}
