/// The Lua scripts the cluster adapter runs in Redis, where each runs atomically. Their source is in
/// `Scripts/*.lua` (each language in its own files), embedded at build time by the EmbedJavaScript
/// plugin, so the binary needs no resource bundle.
enum ClusterScripts {
    /// Appends a broadcast to the backlog stream and publishes it with its id, atomically
    /// (`Scripts/publish-sequenced.lua`).
    static let publishSequenced = script("publish-sequenced.lua")

    /// Purges the nodes silent past the cutoff and their sparks (`Scripts/purge-dead-nodes.lua`).
    static let purgeDeadNodes = script("purge-dead-nodes.lua")

    private static func script(_ name: String) -> String {
        guard let source = ClusterScriptSources.files[name] else { preconditionFailure("Scripts/\(name) was not embedded") }
        return source
    }
}
