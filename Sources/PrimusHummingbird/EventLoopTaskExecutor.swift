#if Hummingbird
import NIOCore

/// Runs a task's jobs on one NIO event loop, so a WebSocket's frame loop, which Hummingbird
/// runs on a task, runs on the connection's own loop: the frames it reads were produced there,
/// and the spark it hands them to lives there, so a message costs no hop between threads and
/// the spark is called directly.
///
/// (SwiftNIO's event loops are serial executors for actors, not task executors; this adapts one.)
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
#endif
