import PrimusCore
import NIOCore

/// Adapts ``RESPDecoder`` to NIO's read path: every complete reply in the read buffer goes up the
/// pipeline as one ``RESPValue`` (bulk strings remain slices of the buffer NIO read into).
struct RESPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private var decoder: RESPDecoder

    init(decoder: RESPDecoder) {
        self.decoder = decoder
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try decoder.decode(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(value))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
