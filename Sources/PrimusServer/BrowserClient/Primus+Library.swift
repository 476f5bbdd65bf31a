import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

extension Primus {
    /// The browser client library for this server, as JavaScript source.
    ///
    /// It is the text `GET <pathname>/primus.js` serves: Primus 8's client API (`new Primus(url,
    /// options)`, `write`, `end`, the reconnect strategy, events…) compiled for this server's
    /// pathname, parser, transformer and heartbeat (`pingTimeout` is 1.5 × ``PrimusConfiguration/pingInterval``,
    /// or off when heartbeats are), with `authorization: true` when an authorization hook is set
    /// (a refused client then ends instead of retrying) and the client parts of the plugins,
    /// defining the global ``PrimusConfiguration/globalName`` and a
    /// CommonJS or AMD module where those exist. It has no dependencies and needs no build step.
    ///
    /// The library is compiled on first use and cached for the server's lifetime: set the
    /// authorization hook and add plugins before the first request for it, as with Primus.
    ///
    /// ```swift
    /// let source = primus.library()          // e.g. to bundle it with your own assets
    /// ```
    public func library() -> String {
        browserLibrary.source
    }

    /// Writes ``library()`` to the file at `path`, replacing it atomically (a temporary file in
    /// the same directory is renamed over it), for serving from a CDN or bundling at build time.
    ///
    /// ```swift
    /// try primus.save(to: "public/js/primus.js")
    /// ```
    ///
    /// - Throws: ``LibrarySaveError`` naming the file and the system error.
    public func save(to path: String) throws(LibrarySaveError) {
        try LibraryFile.write(library(), to: path)
    }

    /// The compiled library and its ETag, built once.
    var browserLibrary: BrowserLibrary {
        if let cached = browserLibraryCache.withLockedValue({ $0 }) { return cached }
        let source = BrowserLibraryCompiler(configuration: configuration, authorization: hasAuthorization, plugins: clientPlugins).compile()
        let built = BrowserLibrary(source: source, etag: BrowserLibraryETag.of(source))
        return browserLibraryCache.withLockedValue { cache in
            if let cached = cache { return cached }
            cache = built
            return built
        }
    }

    /// The answer to `GET`/`HEAD <pathname>/primus.js`: the library with an ETag, or
    /// `304 Not Modified` when the request's `If-None-Match` names it.
    func libraryResponse(to head: HTTPRequestHead) -> PrimusHTTPResponse {
        let library = browserLibrary
        var headers = HTTPHeaders()
        headers.add(name: "etag", value: library.etag)
        headers.add(name: "cache-control", value: "no-cache")
        let tags = head.headers[canonicalForm: "if-none-match"]
        if tags.contains(where: { $0 == "*" || $0 == library.etag || $0 == "W/" + library.etag }) {
            return PrimusHTTPResponse(status: .notModified, headers: headers)
        }
        headers.add(name: "content-type", value: "text/javascript; charset=utf-8")
        return PrimusHTTPResponse(status: .ok, headers: headers, body: ByteBuffer(string: library.source))
    }
}

/// Why ``Primus/save(to:)`` could not write the library.
public struct LibrarySaveError: Error, CustomStringConvertible, Sendable {
    /// The file that was to be written.
    public var path: String
    /// What failed (`open`, `write`, `rename`).
    public var operation: String
    /// The `errno` value.
    public var code: Int32

    public var description: String {
        "cannot save the Primus library to \(path): \(operation) failed (\(String(cString: strerror(code))))"
    }
}

enum LibraryFile {
    static func write(_ text: String, to path: String) throws(LibrarySaveError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw LibrarySaveError(path: path, operation: "open", code: errno) }
        var bytes = Array(text.utf8)
        var offset = 0
        var failure: LibrarySaveError?
        bytes.withUnsafeMutableBytes { buffer in
            while offset < buffer.count {
                let written = systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = LibrarySaveError(path: path, operation: "write", code: errno)
                    return
                }
                offset += written
            }
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw LibrarySaveError(path: path, operation: "rename", code: code)
        }
    }
}

#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Musl)
import Musl
private let systemWrite = Musl.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif
