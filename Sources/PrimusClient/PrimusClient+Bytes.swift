public import struct Foundation.Data
import NIOCore
import PrimusCore

extension PrimusClient {
    /// Sends bytes: a binary frame on WebSocket, a binary packet on Engine.IO (with the json
    /// parser; binary parsers carry them inside their own encoding). Not the `Encodable` path,
    /// which would write `Data` as base64 text.
    public func write(_ data: Data) {
        write(.binary(ByteBuffer(bytes: data)))
    }
}
