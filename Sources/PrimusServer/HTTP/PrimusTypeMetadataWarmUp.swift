import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Instantiates, once and on one thread, the generic handler types every connection's pipeline
/// uses, before the listener accepts anything.
///
/// Why: the Swift runtime can crash (a null metadata dereference in
/// `isCanonicalStaticallySpecializedGenericMetadata`, swiftlang/swift#58414) when two threads
/// instantiate the same generic type's metadata for the first time at once, which is exactly
/// what two event loops accepting their first connections do. A CI run of the benchmark's
/// Engine.IO server crashed that way in `PrimusHTTPPipeline.install`. Done first, the lookups
/// later only read the cache.
enum PrimusTypeMetadataWarmUp {
    private static let done: Void = {
        let types: [Any.Type] = [
            ByteToMessageHandler<HTTPRequestDecoder>.self,
            ByteToMessageHandler<WebSocketFrameDecoder>.self,
        ]
        // Reading each type's name walks its metadata, instantiating it and its conformances.
        for type in types { _ = String(reflecting: type) }
    }()

    /// Runs the warm-up (once per process).
    static func run() { done }
}
