public import NIOCore
import NIOHTTP1
import NIOSSL
import PrimusCore

/// Primus's `browserchannel` transformer, client side: a BrowserChannel (`VER=8`) session under
/// `<pathname>/bind`. Messages to the server go as form-encoded maps on the forward channel, one
/// request at a time so they stay in order; messages from the server arrive on a streaming back
/// channel (`CI=0`) that is reopened whenever the server ends it, acknowledging (`AID`) what it
/// carried so nothing is sent twice or lost.
///
/// ```swift
/// let configuration = try PrimusClientConfiguration(transformer: "browserchannel")
/// let client = try PrimusClient("http://example.com", configuration: configuration)
/// ```
///
/// The session ends with `TYPE=terminate` when the client closes; a `400 Unknown SID` (the
/// server forgot the session) or a dropped connection closes it with an error, and the client
/// reconnects with a new session as on any transport.
public struct BrowserChannelClientTransport: PrimusClientTransport {
    /// Creates the transport.
    public init() {}

    /// `"browserchannel"`.
    public var name: String { "browserchannel" }

    /// Starts a BrowserChannel session with `target`.
    public func connect(
        to target: PrimusConnectionTarget,
        on eventLoop: any EventLoop,
        delegate: any PrimusTransportDelegate
    ) -> any PrimusTransportConnection {
        let connection = BrowserChannelClientConnection(target: target, eventLoop: eventLoop, delegate: delegate)
        // The delegate must not hear from us inside `connect`.
        eventLoop.assumeIsolated().execute { connection.start() }
        return connection
    }
}

/// One BrowserChannel session, from its creation to its end; confined to its event loop.
final class BrowserChannelClientConnection: PrimusTransportConnection {
    private let target: PrimusConnectionTarget
    private let eventLoop: any EventLoop
    private let delegate: any PrimusTransportDelegate
    private let bindPath: String

    private var forward: BrowserChannelHTTPConnection?
    private var back: BrowserChannelHTTPConnection?
    private var tlsContext: NIOSSLContext?
    private var reader: BrowserChannelChunkReader
    private var errorBody = ByteBuffer()

    private var sid: String?
    private var rid = Int.random(in: 10_000...90_000)
    /// The last array id received: acknowledged on every request.
    private var lastArrayID = -1
    /// The offset of the next map sent.
    private var offset = 0
    /// Messages waiting for the forward channel, and how many are in the request under way.
    private var outgoing: [String] = []
    private var inFlight = 0
    private var opened = false
    private var finished = false
    private var zx = 0

    init(target: PrimusConnectionTarget, eventLoop: any EventLoop, delegate: any PrimusTransportDelegate) {
        self.target = target
        self.eventLoop = eventLoop
        self.delegate = delegate
        self.bindPath = (target.path.hasSuffix("/") ? String(target.path.dropLast()) : target.path) + "/bind"
        // A chunk carries at most a back channel's worth of arrays, each a message.
        let (limit, overflow) = target.maxMessageLength.multipliedReportingOverflow(by: 4)
        self.reader = BrowserChannelChunkReader(maxChunkLength: overflow ? Int.max : limit + 64 * 1024)
    }

    func start() {
        guard !finished else { return }
        if target.secure {
            do {
                tlsContext = try NIOSSLContext(configuration: target.tlsConfiguration)
            } catch {
                return finish(WebSocketClientConnection.connectionError(error))
            }
        }
        forward = BrowserChannelHTTPConnection(target: target, eventLoop: eventLoop, tlsContext: tlsContext)
        back = BrowserChannelHTTPConnection(target: target, eventLoop: eventLoop, tlsContext: tlsContext)
        var body = ByteBuffer()
        let uri = self.uri(["RID=\(rid)", "CVER=1", "t=1"])
        rid += 1
        forward?.send(method: .POST, uri: uri, body: ByteBuffer(string: "count=0"), part: { _, bytes in
            var bytes = bytes
            body.writeBuffer(&bytes)
        }) { [weak self] result in
            self?.created(result, body: body)
        }
    }

    // MARK: - PrimusTransportConnection

    func send(_ message: TransportMessage) {
        guard !finished, opened else { return }
        outgoing.append(message.string)
        pushForward()
    }

    func close() {
        guard !finished else { return }
        if let sid {
            // Best effort: a connection of its own, so it does not wait behind a forward request.
            let terminator = BrowserChannelHTTPConnection(target: target, eventLoop: eventLoop, tlsContext: tlsContext)
            let uri = self.uri(["SID=" + Self.percentEncoded(sid), "RID=\(rid)", "AID=\(lastArrayID)", "TYPE=terminate", "t=1"])
            terminator.send(method: .GET, uri: uri, body: nil, part: { _, _ in }) { _ in terminator.close() }
        }
        finish(nil)
    }

    // MARK: - Creation

    private func created(_ result: Result<HTTPResponseStatus, PrimusError>, body: ByteBuffer) {
        guard !finished else { return }
        switch result {
        case .failure(let error):
            finish(error)
        case .success(let status) where status != .ok:
            finish(statusErrorRecordingRefusal(status, body: body))
        case .success:
            do {
                var reader = BrowserChannelChunkReader(maxChunkLength: reader.maxChunkLength)
                let chunks = try reader.feed(body)
                guard let first = chunks.first?[0], first[0]?.numberValue == 0, first[1]?[0]?.stringValue == "c",
                    let sid = first[1]?[1]?.stringValue
                else {
                    return finish(PrimusError(code: .connectionFailed, message: "BrowserChannel: the session was not created"))
                }
                self.sid = sid
                opened = true
                delegate.transportDidOpen()
                for chunk in chunks { receive(chunk) }
                guard !finished else { return }
                openBackChannel()
                pushForward()
            } catch {
                finish(PrimusError(code: .connectionFailed, message: "BrowserChannel: \(error)"))
            }
        }
    }

    // MARK: - Back channel

    private func openBackChannel() {
        guard !finished, let sid else { return }
        reader = BrowserChannelChunkReader(maxChunkLength: reader.maxChunkLength)
        errorBody = ByteBuffer()
        let uri = self.uri(["RID=rpc", "SID=" + Self.percentEncoded(sid), "CI=0", "AID=\(lastArrayID)", "TYPE=xmlhttp", "t=1"])
        back?.send(method: .GET, uri: uri, body: nil, part: { [weak self] status, bytes in
            self?.backChannelPart(status, bytes)
        }) { [weak self] result in
            self?.backChannelEnded(result)
        }
    }

    private func backChannelPart(_ status: HTTPResponseStatus, _ bytes: ByteBuffer) {
        guard !finished else { return }
        guard status == .ok else {
            var bytes = bytes
            if errorBody.readableBytes < 1024 { errorBody.writeBuffer(&bytes) }
            return
        }
        do {
            for chunk in try reader.feed(bytes) {
                receive(chunk)
                if finished { return }
            }
        } catch {
            finish(PrimusError(code: .connectionFailed, message: "BrowserChannel: \(error)"))
        }
    }

    private func backChannelEnded(_ result: Result<HTTPResponseStatus, PrimusError>) {
        guard !finished else { return }
        switch result {
        case .failure(let error):
            finish(error)
        case .success(let status) where status != .ok:
            finish(statusErrorRecordingRefusal(status, body: errorBody))
        case .success:
            // The server ended it (its byte budget, or a new one replaced it): open the next.
            openBackChannel()
        }
    }

    /// One chunk: `[[arrayId, data], …]`. Arrays already received (re-sent because their
    /// acknowledgement had not arrived) are skipped.
    private func receive(_ chunk: JSONValue) {
        for array in chunk.arrayValue ?? [] {
            guard let number = array[0]?.numberValue, let data = array[1] else { continue }
            let id = Int(number)
            guard id > lastArrayID else { continue }
            lastArrayID = id
            if let text = data.stringValue {
                delegate.transportDidReceive(.text(text))
            } else if data[0]?.stringValue == "stop" {
                return finish(nil)
            }
            // `["c", …]` and `["noop"]` carry no message.
            if finished { return }
        }
    }

    // MARK: - Forward channel

    /// Sends what waits, as one request, unless one is under way.
    private func pushForward() {
        guard !finished, opened, let sid, inFlight == 0, !outgoing.isEmpty, let forward, !forward.isBusy else { return }
        let batch = outgoing.prefix(1000)
        inFlight = batch.count
        var body = "count=\(batch.count)&ofs=\(offset)"
        for (index, message) in batch.enumerated() {
            body += "&req\(index)__S=" + Self.percentEncoded(message)
        }
        let uri = self.uri(["SID=" + Self.percentEncoded(sid), "RID=\(rid)", "AID=\(lastArrayID)", "t=1"])
        rid += 1
        var answer = ByteBuffer()
        forward.send(method: .POST, uri: uri, body: ByteBuffer(string: body), part: { _, bytes in
            var bytes = bytes
            if answer.readableBytes < 1024 { answer.writeBuffer(&bytes) }
        }) { [weak self] result in
            self?.forwardCompleted(result, body: answer)
        }
    }

    private func forwardCompleted(_ result: Result<HTTPResponseStatus, PrimusError>, body: ByteBuffer) {
        guard !finished else { return }
        switch result {
        case .failure(let error):
            finish(error)
        case .success(let status) where status != .ok:
            finish(statusErrorRecordingRefusal(status, body: body))
        case .success:
            outgoing.removeFirst(inFlight)
            offset += inFlight
            inFlight = 0
            pushForward()
        }
    }

    // MARK: - Helpers

    private func finish(_ error: PrimusError?) {
        guard !finished else { return }
        finished = true
        forward?.close()
        back?.close()
        let delegate = self.delegate
        let refused = error != nil && error == refusal
        // Reported on the next tick: never from inside the client's own `close()` call.
        eventLoop.assumeIsolated().execute {
            if refused, let error {
                delegate.transportWasRefused(error)
            } else {
                delegate.transportDidClose(error: error)
            }
        }
    }

    /// Set for a `401`/`403` answer: the server refused for good.
    private var refusal: PrimusError?

    private func statusErrorRecordingRefusal(_ status: HTTPResponseStatus, body: ByteBuffer) -> PrimusError {
        let error = Self.statusError(status, body: body)
        if PrimusError.isRefusal(status) { refusal = error }
        return error
    }

    private static func statusError(_ status: HTTPResponseStatus, body: ByteBuffer) -> PrimusError {
        if PrimusError.isRefusal(status) { return .handshakeRefused(status: status, body: body) }
        return PrimusError(code: .connectionFailed, message: "BrowserChannel: \(status.code) \(String(buffer: body))")
    }

    /// `<pathname>/bind?<user query>&VER=8&…&zx=<random>`.
    private func uri(_ items: [String]) -> String {
        var query = target.query
        func add(_ item: String) { query += query.isEmpty ? item : "&" + item }
        add("VER=8")
        for item in items { add(item) }
        zx += 1
        add("zx=\(zx)")
        return bindPath + "?" + query
    }

    private static func percentEncoded(_ value: String) -> String {
        var encoded = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return encoded
    }
}

@available(*, unavailable)
extension BrowserChannelClientConnection: Sendable {}
