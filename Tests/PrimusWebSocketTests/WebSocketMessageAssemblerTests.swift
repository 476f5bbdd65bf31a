import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusWebSocket
import Testing

private func frame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
    WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, data: ByteBuffer(string: text))
}

private func frame(_ opcode: WebSocketOpcode, bytes: [UInt8], fin: Bool = true) -> WebSocketFrame {
    WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(bytes: bytes))
}

private func closePayload(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
}

@Suite("RFC 6455 message rules")
struct WebSocketMessageAssemblerTests {
    @Test func deliversWholeTextAndBinaryMessages() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        #expect(machine.receive(frame(.text, "hello")) == .deliver(.text("hello")))
        #expect(machine.receive(frame(.binary, bytes: [1, 2, 3])) == .deliver(.binary(ByteBuffer(bytes: [1, 2, 3]))))
    }

    @Test func reassemblesFragmentsWithControlFramesInBetween() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        #expect(machine.receive(frame(.text, "he", fin: false)) == .none)
        #expect(machine.receive(frame(.ping, "p")) == .sendPong(payload: ByteBuffer(string: "p")))
        #expect(machine.receive(frame(.continuation, "ll", fin: false)) == .none)
        #expect(machine.receive(frame(.continuation, "o")) == .deliver(.text("hello")))
    }

    @Test func validatesUTF8SplitAcrossFragments() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        // "€" is E2 82 AC, split over two frames.
        #expect(machine.receive(frame(.text, bytes: [0xE2, 0x82], fin: false)) == .none)
        #expect(machine.receive(frame(.continuation, bytes: [0xAC])) == .deliver(.text("€")))
    }

    @Test func failsFastOnInvalidUTF8() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        guard case .fail(let code, _) = machine.receive(frame(.text, bytes: [0xCE, 0xBA, 0xED, 0xA0, 0x80], fin: false)) else {
            Issue.record("expected failure")
            return
        }
        #expect(code == 1007)
    }

    @Test func rejectsTruncatedUTF8AtTheEndOfAMessage() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        guard case .fail(let code, _) = machine.receive(frame(.text, bytes: [0x61, 0xE2, 0x82])) else {
            Issue.record("expected failure")
            return
        }
        #expect(code == 1007)
    }

    @Test func enforcesTheMessageLimitAcrossFragments() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 4)
        #expect(machine.receive(frame(.binary, bytes: [1, 2, 3], fin: false)) == .none)
        guard case .fail(let code, let error) = machine.receive(frame(.continuation, bytes: [4, 5])) else {
            Issue.record("expected failure")
            return
        }
        #expect(code == 1009)
        #expect(error.code == .messageTooLarge)
    }

    @Test(arguments: [
        [frame(.continuation, "x")],
        [frame(.text, "a", fin: false), frame(.text, "b")],
        [frame(.text, "a", rsv1: true)],
        [WebSocketFrame(fin: true, opcode: WebSocketOpcode(encodedWebSocketOpcode: 3)!, data: ByteBuffer())],
        [frame(.ping, "x", fin: false)],
        [frame(.connectionClose, bytes: [0x03])],
        [frame(.connectionClose, bytes: closePayload(1005))],
        [frame(.connectionClose, bytes: closePayload(999))],
        [frame(.connectionClose, bytes: closePayload(2000))],
    ])
    func protocolViolationsFailWith1002(frames: [WebSocketFrame]) {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        var last = WebSocketMessageAssembler.Action.none
        for frame in frames { last = machine.receive(frame) }
        guard case .fail(let code, _) = last else {
            Issue.record("expected failure, got \(last)")
            return
        }
        #expect(code == 1002)
        #expect(machine.isClosed)
    }

    @Test func answersCloseWithTheSameCode() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        #expect(machine.receive(frame(.connectionClose, bytes: closePayload(1000, Array("bye".utf8)))) == .replyToClose(code: 1000))
        #expect(machine.receive(frame(.text, "ignored")) == .none)
    }

    @Test func answersAnEmptyCloseWithAnEmptyClose() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        #expect(machine.receive(frame(.connectionClose, bytes: [])) == .replyToClose(code: nil))
    }

    @Test func closeReasonsMustBeUTF8() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        guard case .fail(let code, _) = machine.receive(frame(.connectionClose, bytes: closePayload(1000, [0xFF]))) else {
            Issue.record("expected failure")
            return
        }
        #expect(code == 1007)
    }

    @Test func completesTheHandshakeAfterOurClose() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        machine.closeSent()
        #expect(machine.receive(frame(.text, "late")) == .none)
        #expect(machine.receive(frame(.connectionClose, bytes: closePayload(1000))) == .closeHandshakeComplete)
    }
}

@Suite("UTF-8 validation")
struct UTF8ValidatorTests {
    @Test(arguments: [
        [0x41], [0xC2, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], Array("plain ascii text, long enough".utf8),
    ] as [[UInt8]])
    func acceptsValidText(bytes: [UInt8]) {
        var validator = UTF8Validator()
        let valid = bytes.withUnsafeBytes { validator.feed($0) }
        #expect(valid && validator.isAtBoundary)
    }

    @Test(arguments: [
        [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF5], [0xFF], [0x80], [0xC2, 0x41],
    ] as [[UInt8]])
    func rejectsInvalidText(bytes: [UInt8]) {
        var validator = UTF8Validator()
        let valid = bytes.withUnsafeBytes { validator.feed($0) }
        #expect(!valid)
    }
}

@Suite("RFC 6455 masking rules (section 5.1)")
struct WebSocketMaskingTests {
    private static let key: WebSocketMaskingKey = [0x12, 0x34, 0x56, 0x78]

    /// A frame as a client puts it on the wire: payload masked with `key`.
    private func masked(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> WebSocketFrame {
        var data = ByteBuffer(string: text)
        data.webSocketMask(Self.key)
        return WebSocketFrame(fin: fin, opcode: opcode, maskKey: Self.key, data: data)
    }

    @Test func aServerUnmasksClientFramesItself() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100, role: .server)
        #expect(machine.receive(masked(.text, "hel", fin: false)) == .none)
        #expect(machine.receive(masked(.ping, "p")) == .sendPong(payload: ByteBuffer(string: "p")))
        #expect(machine.receive(masked(.continuation, "lo")) == .deliver(.text("hello")))
    }

    @Test func aServerFailsAnUnmaskedDataFrameWith1002() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100, role: .server)
        guard case .fail(let code, let error) = machine.receive(frame(.text, "hello")) else {
            Issue.record("an unmasked text frame was accepted")
            return
        }
        #expect(code == 1002)
        #expect(error.code == .protocolViolation)
        #expect(machine.isClosed)
    }

    @Test func aServerFailsUnmaskedControlAndContinuationFramesWith1002() {
        for unmasked in [frame(.ping, "p"), frame(.pong, "p"), frame(.connectionClose, bytes: closePayload(1000))] {
            var machine = WebSocketMessageAssembler(maxMessageLength: 100, role: .server)
            #expect(machine.receive(unmasked) == .fail(code: 1002, error: .protocolViolation("unmasked frame from a client")))
        }
        var machine = WebSocketMessageAssembler(maxMessageLength: 100, role: .server)
        #expect(machine.receive(masked(.text, "he", fin: false)) == .none)
        #expect(machine.receive(frame(.continuation, "llo")) == .fail(code: 1002, error: .protocolViolation("unmasked frame from a client")))
    }

    @Test func aClientAcceptsUnmaskedFramesByDefault() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        #expect(machine.receive(frame(.text, "hello")) == .deliver(.text("hello")))
        var explicit = WebSocketMessageAssembler(maxMessageLength: 100, role: .client)
        #expect(explicit.receive(frame(.ping, "p")) == .sendPong(payload: ByteBuffer(string: "p")))
    }

    @Test func aClosedServerStillRecognisesTheAnsweringCloseFrame() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100, role: .server)
        machine.closeSent()
        #expect(machine.receive(masked(.connectionClose, "")) == .closeHandshakeComplete)
    }
}
