import PrimusCore
import Foundation
import NIOCore
import NIOPosix
import PrimusRedis
import Testing

/// Against a real redis-server per test (see ``RedisServerProcess``). Serialized: each test
/// starts a server, and two cores are shared with other builds.
@Suite("Redis live", .serialized)
struct RedisLiveTests {
    private func connectedClient(_ configuration: RedisConfiguration, states: StateRecorder = StateRecorder()) async throws -> RedisClient {
        let client = RedisClient(configuration: configuration)
        client.onStateChange(states.callback)
        client.start()
        try await eventually("the client connects") { client.isConnected }
        return client
    }

    @Test("1000 pipelined INCR, SET and GET sent at once all come back right and in order")
    func pipelining() async throws {
        let server = try await RedisServerProcess()
        let client = try await connectedClient(try testConfiguration(server.url))
        var increments: [EventLoopFuture<RESPValue>] = []
        var reads: [EventLoopFuture<RESPValue>] = []
        for index in 0..<1000 {
            increments.append(client.sendFuture(["INCR", "counter"]))
            _ = client.sendFuture(["SET", .string("key:\(index)"), .integer(index)])
            reads.append(client.sendFuture(["GET", .string("key:\(index)")]))
        }
        for (index, future) in increments.enumerated() {
            #expect(try await future.get() == .integer(Int64(index + 1)))
        }
        for (index, future) in reads.enumerated() {
            #expect(try await future.get().string == "\(index)")
        }
        // Concurrent async senders, too.
        let values = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<200 {
                group.addTask { try await client.send(["INCR", "other"]).int ?? -1 }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(values) == Set(1...200))
        #expect(try await client.send(["GET", "missing"]) == .null)
        await client.shutdown()
        #expect(!client.isConnected)
        await #expect(throws: RedisError.notConnected) { try await client.send(["PING"]) }
        server.kill()
    }

    @Test("an error reply surfaces as .server and the connection keeps working")
    func serverError() async throws {
        let server = try await RedisServerProcess()
        let client = try await connectedClient(try testConfiguration(server.url))
        _ = try await client.send(["SET", "text", "abc"])
        do {
            _ = try await client.send(["INCR", "text"])
            Issue.record("INCR on text succeeded")
        } catch {
            guard case .server(let message) = error else {
                Issue.record("not a server error: \(error)")
                return
            }
            #expect(message.contains("not an integer"))
        }
        await #expect(throws: RedisError.self) { try await client.send(["NO-SUCH-COMMAND"]) }
        #expect(try await client.send(["PING"]) == .simpleString("PONG"))
        await client.shutdown()
        server.kill()
    }

    @Test("pub/sub delivers messages in order; unsubscribe stops them")
    func pubSub() async throws {
        let server = try await RedisServerProcess()
        try await pubSubRoundTrip(server: server)
        server.kill()
    }

    @Test("RESP2 fallback: a server without HELLO still authenticates, selects and delivers pub/sub arrays")
    func resp2Fallback() async throws {
        let server = try await RedisServerProcess(password: "pw", arguments: ["--rename-command", "HELLO", ""])
        let client = try await connectedClient(try testConfiguration("redis://:pw@127.0.0.1:\(server.port)/2"))
        // RESP2 shapes: HGETALL is a flat array, not a map.
        _ = try await client.send(["HSET", "h", "f", "v"])
        #expect(try await client.send(["HGETALL", "h"]) == .array([bulk("f"), bulk("v")]))
        #expect(try await client.send(["CLIENT", "INFO"]).string?.contains("db=2") == true)
        await client.shutdown()
        try await pubSubRoundTrip(server: server, password: "pw")
        server.kill()
    }

    private func pubSubRoundTrip(server: RedisServerProcess, password: String? = nil) async throws {
        let credentials = password.map { ":\($0)@" } ?? ""
        let url = "redis://\(credentials)127.0.0.1:\(server.port)"
        let publisher = try await connectedClient(try testConfiguration(url))
        let subscriber = RedisSubscriber(configuration: try testConfiguration(url))
        let messages = MessageRecorder()
        let states = StateRecorder()
        subscriber.onMessage(messages.callback)
        subscriber.onStateChange(states.callback)
        subscriber.subscribe(["one", "two"])
        subscriber.start()
        try await eventually("the subscriber confirms its channels") { states.connectedCount == 1 }
        // .connected came after the confirmations: both channels have a subscriber already.
        #expect(try await publisher.send(["PUBSUB", "NUMSUB", "one", "two"]) == .array([bulk("one"), .integer(1), bulk("two"), .integer(1)]))
        var expected: [(String, String)] = []
        for index in 0..<500 {
            let channel = index % 2 == 0 ? "one" : "two"
            expected.append((channel, "message \(index)"))
            _ = publisher.sendFuture(["PUBLISH", .string(channel), .bytes(ByteBuffer(string: "message \(index)"))])
        }
        try await eventually("500 messages arrive") { messages.messages.count >= 500 }
        #expect(messages.messages.map(\.0) == expected.map(\.0))
        #expect(messages.messages.map(\.1) == expected.map(\.1))
        #expect(messages.deliveriesOffLoop == 0)

        subscriber.unsubscribe(["two"])
        try await eventually("two has no subscriber") {
            try await publisher.send(["PUBSUB", "NUMSUB", "two"]) == .array([bulk("two"), .integer(0)])
        }
        #expect(try await publisher.send(["PUBLISH", "two", "lost"]) == .integer(0))
        // A channel added later is subscribed at once.
        subscriber.subscribe(["three"])
        try await eventually("three has a subscriber") {
            try await publisher.send(["PUBLISH", "three", "found"]) == .integer(1)
        }
        try await eventually("the message on three arrives") { messages.messages.contains { $0 == ("three", "found") } }
        #expect(!messages.messages.contains { $0.0 == "two" && $0.1 == "lost" })
        await subscriber.shutdown()
        await publisher.shutdown()
    }

    @Test("after redis-server is killed and restarted on the same port, client and subscriber recover")
    func reconnect() async throws {
        let server = try await RedisServerProcess()
        let clientStates = StateRecorder()
        let client = try await connectedClient(try testConfiguration(server.url), states: clientStates)
        let subscriber = RedisSubscriber(configuration: try testConfiguration(server.url))
        let messages = MessageRecorder()
        let subscriberStates = StateRecorder()
        subscriber.onMessage(messages.callback)
        subscriber.onStateChange(subscriberStates.callback)
        subscriber.subscribe(["news"])
        subscriber.start()
        try await eventually("the subscriber is ready") { subscriberStates.connectedCount == 1 }
        _ = try await client.send(["PUBLISH", "news", "before"])
        try await eventually("the first message arrives") { messages.messages.count == 1 }

        server.kill()
        try await eventually("the client notices") { !client.isConnected }
        // While down: .notConnected at once, no hang.
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<10 {
            await #expect(throws: RedisError.notConnected) { try await client.send(["PING"]) }
        }
        #expect(clock.now - started < .seconds(5))
        try await eventually("both report the loss") {
            clientStates.states.contains { $0.hasPrefix("disconnected") } && subscriberStates.states.contains { $0.hasPrefix("disconnected") }
        }

        try await server.start()
        try await eventually("the client reconnects") { client.isConnected }
        try await eventually("the subscriber resubscribes") { subscriberStates.connectedCount == 2 }
        #expect(try await client.send(["PUBLISH", "news", "after"]) == .integer(1))
        try await eventually("the new message arrives") { messages.messages.count == 2 }
        #expect(messages.messages.map(\.1) == ["before", "after"])
        #expect(try await client.send(["PING"]) == .simpleString("PONG"))
        await subscriber.shutdown()
        await client.shutdown()
        server.kill()
    }

    @Test("AUTH: the right password works (with or without user), a wrong one reports an error")
    func auth() async throws {
        let server = try await RedisServerProcess(password: "s3cret")
        let client = try await connectedClient(try testConfiguration("redis://:s3cret@127.0.0.1:\(server.port)"))
        _ = try await client.send(["SET", "k", "v"])
        #expect(try await client.send(["GET", "k"]).string == "v")
        await client.shutdown()

        let withUser = try await connectedClient(try testConfiguration("redis://default:s3cret@127.0.0.1:\(server.port)"))
        #expect(try await withUser.send(["GET", "k"]).string == "v")
        await withUser.shutdown()

        let states = StateRecorder()
        let wrong = RedisClient(configuration: try testConfiguration("redis://:nope@127.0.0.1:\(server.port)"))
        wrong.onStateChange(states.callback)
        wrong.start()
        try await eventually("the wrong password is reported twice (it keeps retrying)") {
            states.states.filter { $0.contains("WRONGPASS") }.count >= 2
        }
        #expect(!wrong.isConnected)
        await #expect(throws: RedisError.notConnected) { try await wrong.send(["GET", "k"]) }
        await wrong.shutdown()
        #expect(states.connectedCount == 0)

        // No password at all: commands are refused by the server, not by a crash.
        let anonymous = try await connectedClient(try testConfiguration(server.url))
        await #expect(throws: RedisError.self) { try await anonymous.send(["GET", "k"]) }
        await anonymous.shutdown()
        server.kill()
    }

    @Test("the database in the URL is selected, and again after a reconnect")
    func selectDatabase() async throws {
        let server = try await RedisServerProcess()
        let three = try await connectedClient(try testConfiguration(server.url + "/3"))
        let zero = try await connectedClient(try testConfiguration(server.url))
        _ = try await three.send(["SET", "where", "three"])
        #expect(try await zero.send(["GET", "where"]) == .null)
        #expect(try await zero.send(["SELECT", 3]) == .simpleString("OK"))
        #expect(try await zero.send(["GET", "where"]).string == "three")
        #expect(try await three.send(["CLIENT", "INFO"]).string?.contains(" db=3 ") == true)
        let id = try #require(try await three.send(["CLIENT", "ID"]).int)
        #expect(try await zero.send(["CLIENT", "KILL", "ID", .integer(Int(id))]) == .integer(1))
        try await eventually("the killed client reconnects") {
            (try? await three.send(["CLIENT", "INFO"]).string?.contains(" db=3 ")) == true
        }
        await three.shutdown()
        await zero.shutdown()
        server.kill()
    }

    @Test("a command the server never answers fails with .timeout, not a hang; pending commands are bounded")
    func commandTimeout() async throws {
        let server = try await RedisServerProcess()
        var configuration = try testConfiguration(server.url, commandTimeout: .seconds(1))
        configuration.maxPendingCommands = 3
        let client = try await connectedClient(configuration)
        #expect(try await client.send(["PING"]) == .simpleString("PONG"))
        server.pause()
        let clock = ContinuousClock()
        let started = clock.now
        let futures = (0..<5).map { _ in client.sendFuture(["PING"]) }
        var outcomes: [RedisError] = []
        for future in futures {
            do {
                _ = try await future.get()
                Issue.record("a paused server answered")
            } catch let error as RedisError {
                outcomes.append(error)
            }
        }
        #expect(clock.now - started < .seconds(20))
        #expect(outcomes.filter { $0 == .overloaded }.count == 2)
        #expect(outcomes.filter { $0 == .timeout }.count == 1)
        #expect(outcomes.filter { $0 == .connectionClosed }.count == 2)
        server.resume()
        try await eventually("the client is back") {
            (try? await client.send(["PING"])) == .simpleString("PONG")
        }
        await client.shutdown()
        server.kill()
    }
}
