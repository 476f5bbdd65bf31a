import Foundation
import PackagePlugin

/// Embeds web files in a target, so its binary carries them and needs no resource bundle at run
/// time (a bundle lookup breaks when the binary is moved): every `.js`, `.html`, `.css` and `.lua` file
/// under the target's web folder becomes an entry (relative path → source) of one generated
/// Swift enum.
///
/// - PrimusServer: `BrowserClient/JavaScript/` (the browser client, and pages a transformer
///   serves such as SockJS's iframe page) → `BrowserClientSources.files`.
/// - PrimusDemoChat: `Page/` (the chat page, its script and style) → `PageSources.files`.
/// - PrimusRedisCluster: `Scripts/` (the Lua scripts it runs in Redis) → `ClusterScriptSources.files`.
///
/// The folder is excluded from the target in Package.swift (SwiftPM would otherwise warn about
/// unhandled files), so the files are listed here from the package directory and handed to the
/// tool by path. They are the command's inputs: editing one regenerates the Swift file, and the
/// plugin runs at every build, so an added or removed file changes the command too.
@main
struct EmbedJavaScript: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let folders = [("BrowserClient/JavaScript", "BrowserClientSources"), ("Page", "PageSources"), ("Scripts", "ClusterScriptSources")]
        guard
            let (folder, enumName) = folders.first(where: { folder, _ in
                FileManager.default.fileExists(atPath: module.directoryURL.appending(path: folder).path)
            })
        else {
            throw EmbedJavaScriptError(message: "\(module.name) has none of the folders \(folders.map(\.0))")
        }
        let root = module.directoryURL.appending(path: folder)
        let files = try javaScriptFiles(under: root)
        let output = context.pluginWorkDirectoryURL.appending(path: enumName + ".swift")
        let tool = try context.tool(named: "EmbedJavaScriptTool")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) web files in \(module.name)",
                executable: tool.url,
                arguments: [output.path, enumName, root.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }

    /// Every `.js`, `.html`, `.css` and `.lua` file under `root`, sorted by path so the generated file is stable.
    private func javaScriptFiles(under root: URL) throws -> [URL] {
        guard
            let walker = FileManager.default.enumerator(
                at: root,
                includingPropertiesForKeys: [.isRegularFileKey],
                options: [.skipsHiddenFiles]
            )
        else {
            throw EmbedJavaScriptError(message: "cannot list \(root.path)")
        }
        var files: [URL] = []
        for case let url as URL in walker where ["js", "html", "css", "lua"].contains(url.pathExtension) {
            if try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true {
                files.append(url.standardizedFileURL)
            }
        }
        if files.isEmpty { throw EmbedJavaScriptError(message: "no web files under \(root.path)") }
        return files.sorted { $0.path < $1.path }
    }
}

/// Why the plugin could not plan the embedding.
struct EmbedJavaScriptError: Error, CustomStringConvertible {
    var message: String
    var description: String { "EmbedJavaScript: " + message }
}
