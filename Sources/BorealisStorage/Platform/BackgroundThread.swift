// Long-lived background threads (the materializer, a replica's apply loop) started with
// pthreads directly, in place of Foundation's Thread, so the engine needs no full Foundation.
// The thread is detached: whoever starts one waits for it through its own state, as the
// materializer and the replica do. Names are cut to the 15 bytes Linux keeps.

import CBorealisSupport
#if canImport(Glibc)
import Glibc
#endif

private final class ThreadStart {
    let name: String
    let body: () -> Void
    init(name: String, body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }
}

/// Runs `body` on a new detached thread named `name` (as `top` and debuggers show it). When
/// the system has no thread to give (EAGAIN: a thread or memory limit), it throws (53000)
/// instead of stopping the host process: the open or attach that needed the thread fails.
/// `failForTesting` makes it fail as pthread_create does without resources (tests).
package func startBackgroundThread(name: String, failForTesting: Bool = false, _ body: @escaping @Sendable () -> Void) throws {
    let start = Unmanaged.passRetained(ThreadStart(name: name, body: body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    var thread = pthread_t()
    let result = failForTesting ? EAGAIN : pthread_create(&thread, &attributes, { raw in
        let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
        borealis_set_thread_name(start.name)
        start.body()
        return nil
    }, start)
    pthread_attr_destroy(&attributes)
    guard result == 0 else {
        Unmanaged<ThreadStart>.fromOpaque(start).release()
        throw DatabaseError(.internal, sqlState: SQLState.insufficientResources, "could not start the \(name) thread: \(errnoText(result))")
    }
}
