import PrimusCore
@testable import PrimusClient
import Testing

/// The event hub without sockets: the backlog a first subscriber gets never leaves it without
/// room for a later overflow's error and end.
@Suite("client event hub")
struct ClientEventHubTests {
    /// Everything buffered in `stream` (which must have finished or hold an end).
    private func collect(_ stream: AsyncStream<PrimusClientEvent>) async -> [PrimusClientEvent] {
        var seen: [PrimusClientEvent] = []
        for await event in stream {
            seen.append(event)
            if event == .end { break }
        }
        return seen
    }

    @Test("a late subscriber whose backlog overflowed, not reading, still gets the end", arguments: [2, 3, 16])
    func overflowedBacklogThenMoreEvents(limit: Int) async {
        let hub = ClientEventHub(limit: limit)
        for index in 0..<100 { hub.emit(.data(PrimusClientMessage(value: .number(Double(index)), raw: .text("\(index)"), parser: JSONParser()))) }
        let stream = hub.subscribe()
        // Nobody reads while three more events come: the first of them overflows the subscriber.
        hub.emit(.readyStateChange(.closed))
        hub.emit(.close)
        hub.emit(.end)
        let seen = await collect(stream)
        #expect(seen.last == .end, "\(seen)")
        #expect(seen.count <= limit + 2)
        let errors = seen.filter { if case .error = $0 { return true } else { return false } }
        #expect(errors.count == 2, "the backlog's overflow and the subscriber's: \(errors)")
    }

    @Test("a late subscriber whose backlog just fit, not reading, still gets the end")
    func fullBacklogThenMoreEvents() async {
        let limit = 16
        let hub = ClientEventHub(limit: limit)
        for index in 0..<(limit - 1) { hub.emit(.data(PrimusClientMessage(value: .number(Double(index)), raw: .text("\(index)"), parser: JSONParser()))) }
        let stream = hub.subscribe()
        for _ in 0..<5 { hub.emit(.close) }
        hub.emit(.end)
        let seen = await collect(stream)
        #expect(seen.last == .end, "\(seen)")
        #expect(seen.count <= limit + 2)
    }
}
