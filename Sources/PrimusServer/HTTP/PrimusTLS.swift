public import NIOSSL

/// TLS for the standalone ``PrimusHTTPServer``: with it the server speaks `https://` and `wss://`
/// on its port (and only those), and every spark reports ``SparkAddress/secure``.
///
/// ```swift
/// let tls = try PrimusTLS(certificateChainFile: "cert.pem", privateKeyFile: "key.pem")
/// let server = PrimusHTTPServer(primus: primus, port: 443, tls: tls)
/// ```
///
/// The context is made once and shared by every connection. A peer that fails the handshake,
/// or speaks plain HTTP to the TLS port, is disconnected; the server carries on.
public struct PrimusTLS: Sendable {
    /// The server-side TLS context every accepted connection uses.
    public let context: NIOSSLContext

    /// Uses a context you made (client certificates, ALPN, ciphers of your choice).
    public init(context: NIOSSLContext) {
        self.context = context
    }

    /// Makes a context from a NIOSSL server configuration.
    ///
    /// - Throws: NIOSSL's error when the configuration is unusable (a key that does not match
    ///   the certificate, for example).
    public init(configuration: TLSConfiguration) throws {
        self.context = try NIOSSLContext(configuration: configuration)
    }

    /// Makes a context from PEM files: the certificate chain (the server's certificate first,
    /// then any intermediates) and its private key, with NIOSSL's default server settings
    /// (TLS 1.2 and later).
    ///
    /// - Throws: NIOSSL's error naming what could not be read or does not match.
    public init(certificateChainFile: String, privateKeyFile: String) throws {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile)
        let key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        try self.init(configuration: .makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        ))
    }
}
