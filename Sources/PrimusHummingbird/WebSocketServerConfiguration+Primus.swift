#if Hummingbird
public import HummingbirdCore
public import HummingbirdWebSocket
import PrimusServer

extension HTTP1WebSocketUpgradeChannel.Configuration {
    /// Hummingbird's WebSocket settings for a Primus: frames as large as Primus's largest
    /// message (``PrimusServer/PrimusConfiguration/maxLength``; larger ones close with 1009), and
    /// no automatic pings. Use these: Primus's own WebSocket handler takes the upgraded
    /// connection over, so Hummingbird would never see the pongs its pings asked for and would
    /// close a healthy connection; Primus's heartbeat tells live clients from dead ones instead.
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
