/// The errors a BrowserChannel server answers requests with, worded and coded as
/// node-browserchannel words them, since the closure-library client reads the status (a `400
/// Unknown SID` makes it open a new session). This is the one place that maps them to statuses.
public struct BrowserChannelError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public let status: Int
    /// The plain-text body.
    public let message: String

    private init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    /// `VER` is missing or not 8, the only protocol version there is.
    public static let versionRequired = BrowserChannelError(400, "Version 8 required")
    /// `SID` names no open session: the client starts a new one.
    public static let unknownSID = BrowserChannelError(400, "Unknown SID")
    /// A forward-channel body that is not what the protocol says (a `count` that lies, broken
    /// JSON, a map index out of range, too many maps held out of order).
    public static let badData = BrowserChannelError(400, "Bad data")
    /// The application closed the session while it was being created.
    public static let forbidden = BrowserChannelError(403, "Forbidden")
    /// A method the endpoint does not take.
    public static let methodNotAllowed = BrowserChannelError(405, "Method Not Allowed")
    /// A path under the pathname that is neither `test` nor `bind`.
    public static let notFound = BrowserChannelError(404, "Not Found")
    /// A forward-channel body over ``PrimusConfiguration/maxLength``.
    public static let payloadTooLarge = BrowserChannelError(413, "Payload Too Large")
    /// The server holds as many sessions as it allows, or is shutting down.
    public static let tooManySessions = BrowserChannelError(503, "Too many sessions")

    public var description: String { "BrowserChannel \(status) \(message)" }
}
