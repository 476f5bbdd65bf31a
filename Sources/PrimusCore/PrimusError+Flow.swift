extension PrimusError {
    /// A spark was ended because its client stopped reading: more than `limit` bytes waited to
    /// go out (the outbound budget, with the `end` policy). Thrown by an awaited send.
    public static func outboundBudgetExceeded(limit: Int) -> PrimusError {
        PrimusError(
            code: .sparkClosed,
            message: "The connection was ended: its client is not reading and more than \(limit) bytes are waiting to go out"
        )
    }
}
