import Foundation
import PackagePlugin

/// Embeds the browser client's JavaScript in PrimusServer: every `.js` file (and every `.html`
/// page a transformer serves, such as SockJS's iframe page) under the target's
/// `BrowserClient/JavaScript/` folder becomes an entry of `BrowserClientSources.files` (relative
/// path → source) in one generated Swift file, so the server binary carries the library and
/// needs no resource bundle at run time (a bundle lookup breaks when the binary is moved).
///
/// The folder is excluded from the target in Package.swift (SwiftPM would otherwise warn about
/// unhandled files), so the files are listed here from the package directory and handed to the
/// tool by path. They are the command's inputs: editing one regenerates the Swift file, and the
/// plugin runs at every build, so an added or removed file changes the command too.
@main
struct EmbedJavaScript: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let root = module.directoryURL.appending(path: "BrowserClient/JavaScript")
        let files = try javaScriptFiles(under: root)
        let output = context.pluginWorkDirectoryURL.appending(path: "BrowserClientSources.swift")
        let tool = try context.tool(named: "EmbedJavaScriptTool")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) browser client JavaScript files in \(module.name)",
                executable: tool.url,
                arguments: [output.path, root.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }

    /// Every `.js` and `.html` file under `root`, sorted by path so the generated file is stable.
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
        for case let url as URL in walker where url.pathExtension == "js" || url.pathExtension == "html" {
            if try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true {
                files.append(url.standardizedFileURL)
            }
        }
        if files.isEmpty { throw EmbedJavaScriptError(message: "no .js files under \(root.path)") }
        return files.sorted { $0.path < $1.path }
    }
}

/// Why the plugin could not plan the embedding.
struct EmbedJavaScriptError: Error, CustomStringConvertible {
    var message: String
    var description: String { "EmbedJavaScript: " + message }
}
