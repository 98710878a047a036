import NIOCore

/// One loop timer for many deadlines: armed for the earliest pending one. A later deadline
/// costs nothing, and a wait that ends early leaves the timer alone; when it fires, its owner
/// handles what is due and arms it again for the next deadline still pending. A scheduled task
/// per deadline costs a timerfd re-arm for every schedule and every cancellation, and one left
/// behind wakes the loop for nothing when it fires.
///
/// Not synchronised: it lives in its owner's loop-confined or locked state.
struct DeadlineTimer: Sendable {
    private var armed: (task: Scheduled<Void>, deadline: NIODeadline)?

    /// Arms the timer to run `fire` on `loop` at `deadline`, unless it already fires at or
    /// before it.
    mutating func arm(for deadline: NIODeadline, on loop: any EventLoop, _ fire: @escaping @Sendable () -> Void) {
        if let armed {
            if armed.deadline <= deadline { return }
            armed.task.cancel()
        }
        armed = (loop.scheduleTask(deadline: deadline, fire), deadline)
    }

    /// To be called when the timer fired: the next `arm` schedules afresh.
    mutating func fired() { armed = nil }

    mutating func cancel() {
        armed?.task.cancel()
        armed = nil
    }
}
