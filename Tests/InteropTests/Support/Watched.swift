import Synchronization

/// A value that other threads change (a child process's output, its exit), which a test awaits
/// until a condition holds, with a deadline. The wait ends as soon as an update satisfies the
/// condition: tests never sleep for a fixed time to wait for something observable.
final class Watched<Value: Sendable>: Sendable {
    private struct Waiter {
        let predicate: @Sendable (Value) -> Bool
        let continuation: CheckedContinuation<Value?, Never>
    }

    private struct State {
        var value: Value
        var waiters: [Int: Waiter] = [:]
        /// Waits cancelled before they registered (the cancellation handler ran first).
        var cancelledBeforeRegistering: Set<Int> = []
        var nextWaiterID = 0
    }

    private let state: Mutex<State>

    init(_ value: Value) {
        state = Mutex(State(value: value))
    }

    var value: Value { state.withLock { $0.value } }

    /// Changes the value and wakes every waiter whose condition now holds.
    func update(_ body: (inout Value) -> Void) {
        let woken: [(CheckedContinuation<Value?, Never>, Value)] = state.withLock { state in
            body(&state.value)
            var woken: [(CheckedContinuation<Value?, Never>, Value)] = []
            for (id, waiter) in state.waiters where waiter.predicate(state.value) {
                woken.append((waiter.continuation, state.value))
                state.waiters[id] = nil
            }
            return woken
        }
        for (continuation, value) in woken { continuation.resume(returning: value) }
    }

    /// The value once `predicate` holds for it, or nil if `timeout` passes first.
    func wait(timeout: Duration, until predicate: @escaping @Sendable (Value) -> Bool) async -> Value? {
        await withTaskGroup(of: Value?.self) { group in
            group.addTask { await self.waitWithoutDeadline(until: predicate) }
            group.addTask {
                // The deadline of the wait, not a wait for something to happen.
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Waits until `predicate` holds; nil when the task is cancelled first.
    private func waitWithoutDeadline(until predicate: @escaping @Sendable (Value) -> Bool) async -> Value? {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let immediate: Value?? = state.withLock { state in
                    if state.cancelledBeforeRegistering.remove(id) != nil { return .some(nil) }
                    if predicate(state.value) { return .some(state.value) }
                    state.waiters[id] = Waiter(predicate: predicate, continuation: continuation)
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    state.cancelledBeforeRegistering.insert(id)
                    return nil as Waiter?
                }
                return waiter
            }
            waiter?.continuation.resume(returning: nil)
        }
    }
}
