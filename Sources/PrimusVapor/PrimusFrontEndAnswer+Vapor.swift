#if Vapor
import NIOCore
import PrimusServer
import Vapor

extension PrimusHTTPResponse {
    /// A complete answer (a refused upgrade) as a Vapor response, with its length.
    func vaporResponse() -> Response {
        var headers = headers
        headers.remove(name: "content-length")
        return Response(status: status, headers: headers, body: .init(buffer: body))
    }
}

extension PrimusFrontEndAnswer {
    /// The answer as a Vapor response: a complete body with its length, or a chunked body
    /// written part by part as the transformer produces it (each part flushed by Vapor).
    ///
    /// A `connection: close` among the headers stays: Vapor adds its own `keep-alive` beside it
    /// but cannot be told to close, so the client, which honours `close`, closes.
    ///
    /// A `HEAD` request gets no body, so Vapor never writes a stream: the transformer is told at
    /// once that the answer is over.
    func vaporResponse(head: Bool = false) -> Response {
        switch body {
        case .stream(let stream) where head:
            stream.peerGone()
            return Response(status: status, headers: headers, body: .init(buffer: ByteBuffer()))
        case .bytes(let bytes):
            return Response(status: status, headers: headers, body: .init(buffer: bytes))
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
