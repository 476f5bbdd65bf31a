/// The compiled browser client and its validator, as served at `<pathname>/primus.js`.
struct BrowserLibrary: Sendable {
    /// The JavaScript source.
    var source: String
    /// A strong ETag of `source`.
    var etag: String
}
