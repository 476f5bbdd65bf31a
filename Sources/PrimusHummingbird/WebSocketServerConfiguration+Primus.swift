#if Hummingbird
public import HummingbirdCore
public import HummingbirdWebSocket
import PrimusServer

extension HTTP1WebSocketUpgradeChannel.Configuration {
    /// Hummingbird's WebSocket settings for a Primus: frames as large as Primus's largest
    /// message (``PrimusServer/PrimusConfiguration/maxLength``; larger ones close with 1009), no
    /// automatic pings (Primus's heartbeat tells live clients from dead ones, as standalone), and
    /// Hummingbird's close timeout.
    ///
    /// - Parameter http1: the HTTP/1 settings of the application's plain requests.
    public static func primus(_ primus: HummingbirdPrimus, http1: HTTP1Channel.Configuration = .init()) -> Self {
        .init(
            http1: http1,
            ws: WebSocketServerConfiguration(maxFrameSize: max(primus.primus.configuration.maxLength, 1 << 14), autoPing: .disabled)
        )
    }
}
#endif
