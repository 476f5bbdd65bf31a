import NIOCore
import PrimusCore
import Testing

@Suite("SockJS session state machine (time injected)")
struct SockJSSessionStateMachineTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let configuration = SockJSSessionStateMachine.Configuration(heartbeatDelay: .seconds(25), disconnectDelay: .seconds(5), responseLimit: 100)

    func seconds(_ value: Int64) -> NIODeadline { start + .seconds(value) }

    @Test("a first poll gets the open frame alone; the next poll gets what waited")
    func pollingOpensThenDelivers() {
        var machine = SockJSSessionStateMachine(configuration: configuration, now: start)
        #expect(machine.receiverArrived(1, kind: .polling, now: start) == .attached(.init(frames: [.open], finishReceiver: true)))
        machine.receiverFinished(1, now: start)
        #expect(machine.send(["a"]) == .init())
        #expect(machine.send(["b"]) == .init())
        #expect(machine.pendingBytes == 2)
        #expect(machine.receiverArrived(2, kind: .polling, now: start) == .attached(.init(frames: [.messages(["a", "b"])], finishReceiver: true)))
        #expect(machine.pendingBytes == 0)
        machine.receiverFinished(2, now: start)
        // An empty poll waits (nothing to write, not finished) until a message comes.
        #expect(machine.receiverArrived(3, kind: .polling, now: start) == .attached(.init()))
        #expect(machine.send(["c"]) == .init(frames: [.messages(["c"])], finishReceiver: true))
    }

    @Test("a stream gets the open frame and messages as they come")
    func streaming() {
        var machine = SockJSSessionStateMachine(configuration: configuration, now: start)
        _ = machine.send(["early"])
        #expect(machine.receiverArrived(1, kind: .streaming(limited: true), now: start) == .attached(.init(frames: [.open, .messages(["early"])])))
        #expect(machine.send(["x"]) == .init(frames: [.messages(["x"])]))
        #expect(machine.streamed(bytes: 60, receiver: 1) == false)
        #expect(machine.streamed(bytes: 40, receiver: 1) == true)  // the limit (100) is reached
        // An unlimited stream (WebSocket) never reaches it.
        var socket = SockJSSessionStateMachine(configuration: configuration, now: start)
        _ = socket.receiverArrived(9, kind: .streaming(limited: false), now: start)
        #expect(socket.streamed(bytes: 10_000, receiver: 9) == false)
    }

    @Test("a second receiver gets 2010 and the first keeps the session")
    func secondReceiver() {
        var machine = SockJSSessionStateMachine(configuration: configuration, now: start)
        _ = machine.receiverArrived(1, kind: .streaming(limited: true), now: start)
        #expect(machine.receiverArrived(2, kind: .polling, now: start) == .refused(.anotherConnectionOpen))
        #expect(machine.send(["still"]) == .init(frames: [.messages(["still"])]))
    }

    @Test("a close goes after what was sent, and repeats to every later receiver")
    func closeAfterPending() {
        var machine = SockJSSessionStateMachine(configuration: configuration, now: start)
        _ = machine.receiverArrived(1, kind: .polling, now: start)
        machine.receiverFinished(1, now: start)
        _ = machine.send(["primus::server::close"])
        #expect(machine.close() == .init())
        #expect(machine.isClosed)
        #expect(machine.send(["dropped"]) == .init())
        // Polling: the waiting message first, the close frame on the next poll, then again.
        #expect(machine.receiverArrived(2, kind: .polling, now: start) == .attached(.init(frames: [.messages(["primus::server::close"])], finishReceiver: true)))
        machine.receiverFinished(2, now: start)
        #expect(machine.receiverArrived(3, kind: .polling, now: start) == .refused(.normalClosure))
        #expect(machine.receiverArrived(4, kind: .streaming(limited: true), now: start) == .refused(.normalClosure))
    }

    @Test("a stream closed by the application gets what waited and the close frame at once")
    func closeOnStream() {
        var machine = SockJSSessionStateMachine(configuration: configuration, now: start)
        _ = machine.receiverArrived(1, kind: .streaming(limited: true), now: start)
        #expect(machine.close(.close(code: 3001, reason: "Bye")) == .init(frames: [.close(code: 3001, reason: "Bye")], finishReceiver: true))
        var other = SockJSSessionStateMachine(configuration: configuration, now: start)
        _ = other.receiverArrived(1, kind: .polling, now: start)
        other.receiverFinished(1, now: start)
        _ = other.send(["last"])
        _ = other.close()
        #expect(other.receiverArrived(2, kind: .streaming(limited: true), now: start) == .attached(.init(frames: [.messages(["last"]), .normalClosure], finishReceiver: true)))
    }

    @Test("heartbeats every delay to an attached receiver; a poll is answered by one")
    func heartbeats() {
        var machine = SockJSSessionStateMachine(configuration: configuration, now: start)
        _ = machine.receiverArrived(1, kind: .streaming(limited: true), now: start)
        #expect(machine.nextDeadline == seconds(25))
        #expect(machine.tick(now: seconds(24)).output == .init())
        #expect(machine.tick(now: seconds(25)).output == .init(frames: [.heartbeat]))
        #expect(machine.nextDeadline == seconds(50))
        machine.receiverFinished(1, now: seconds(26))
        _ = machine.receiverArrived(2, kind: .polling, now: seconds(27))
        #expect(machine.tick(now: seconds(52)).output == .init(frames: [.heartbeat], finishReceiver: true))
    }

    @Test("a session without a receiver expires after the disconnect delay")
    func expiry() {
        var machine = SockJSSessionStateMachine(configuration: configuration, now: start)
        _ = machine.receiverArrived(1, kind: .polling, now: start)
        #expect(machine.nextDeadline == seconds(25))
        machine.receiverFinished(1, now: seconds(1))
        #expect(machine.nextDeadline == seconds(6))
        #expect(machine.tick(now: seconds(5)).expired == false)
        // A receiver in time keeps it.
        _ = machine.receiverArrived(2, kind: .polling, now: seconds(5))
        #expect(machine.tick(now: seconds(7)).expired == false)
        machine.receiverFinished(2, now: seconds(8))
        #expect(machine.tick(now: seconds(13)).expired == true)
        #expect(machine.nextDeadline == nil)
    }

    @Test("a receiver cut by the network closes the session with 1002, once")
    func aborted() {
        var machine = SockJSSessionStateMachine(configuration: configuration, now: start)
        _ = machine.receiverArrived(1, kind: .streaming(limited: true), now: start)
        _ = machine.receiverArrived(2, kind: .polling, now: start)  // refused, not attached
        #expect(machine.receiverAborted(2, now: start) == false)
        #expect(machine.receiverAborted(1, now: start) == true)
        #expect(machine.isClosed)
        #expect(machine.receiverArrived(3, kind: .polling, now: start) == .refused(.interrupted))
        // A stale id changes nothing.
        machine.receiverFinished(1, now: start)
        #expect(machine.receiverAborted(1, now: start) == false)
    }
}
