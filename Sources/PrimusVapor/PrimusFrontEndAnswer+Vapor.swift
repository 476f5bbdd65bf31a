#if Vapor
import NIOCore
import PrimusServer
import Vapor

extension PrimusHTTPResponse {
    /// A complete answer (a refused upgrade) as a Vapor response, with its length; the
    /// connection closes after it when the answer says so (see ``Response/primus(status:headers:body:)``).
    func vaporResponse() -> Response {
        var headers = headers
        headers.remove(name: "content-length")
        return Response.primus(status: status, headers: headers, body: body)
    }
}

extension Response {
    /// A complete answer of Primus's. One with `connection: close` (a body over the limit that
    /// was not read to its end, a refused upgrade) must close the connection after it, but
    /// Vapor keeps a connection alive whenever the request allowed it and takes no word to the
    /// contrary. A body that ends in an error is the one answer after which Vapor closes: so
    /// the whole answer goes out, with its length, and then that error closes the connection.
    static func primus(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) -> Response {
        let closes = headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
        guard closes else { return Response(status: status, headers: headers, body: .init(buffer: body)) }
        return Response(status: status, headers: headers, body: .init(asyncStream: { writer in
            try await writer.write(.buffer(body))
            try await writer.write(.error(ConnectionClosedAfterAnswer()))
        }, count: body.readableBytes))
    }

    /// Ends a complete answer that closes its connection (never seen by the client).
    struct ConnectionClosedAfterAnswer: Error {}
}

extension PrimusFrontEndAnswer {
    /// The answer as a Vapor response: a complete body with its length, or a chunked body
    /// written part by part as the transformer produces it (each part flushed by Vapor).
    ///
    /// A complete answer with `connection: close` closes the connection after it (Vapor adds its
    /// own `connection` header beside Primus's); a streamed one ends normally, and its client,
    /// told `close`, closes.
    ///
    /// A `HEAD` request gets no body, so Vapor never writes a stream: the transformer is told at
    /// once that the answer is over.
    func vaporResponse(head: Bool = false) -> Response {
        switch body {
        case .stream(let stream) where head:
            stream.peerGone()
            return Response(status: status, headers: headers, body: .init(buffer: ByteBuffer()))
        case .bytes(let bytes):
            return Response.primus(status: status, headers: headers, body: bytes)
        case .stream(let stream):
            return Response(status: status, headers: headers, body: .init(asyncStream: { writer in
                do {
                    // Vapor writes the head without flushing it; an empty part (which frames
                    // no chunk) flushes it now: a back channel that has nothing to send yet
                    // is still an open answer to its client.
                    try await writer.write(.buffer(ByteBuffer()))
                    for await part in stream {
                        try await writer.write(.buffer(part))
                    }
                    try await writer.write(.end)
                } catch {
                    // The client went away: the transformer lets go of the answer.
                    stream.peerGone()
                    try? await writer.write(.error(error))
                }
            }))
        }
    }
}
#endif
