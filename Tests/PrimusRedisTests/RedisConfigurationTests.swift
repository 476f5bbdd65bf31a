import PrimusCore
import NIOSSL
@testable import PrimusRedis
import Testing
import NIOCore
import NIOPosix

@Suite("Redis URL")
struct RedisConfigurationTests {
    @Test("a bare host gets port 6379, database 0, no credentials, no TLS")
    func defaults() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.host == "localhost")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(configuration.username == nil)
        #expect(configuration.password == nil)
        #expect(!configuration.tls)
    }

    @Test("user, password, port and database are all read; rediss means TLS")
    func everything() throws {
        let configuration = try RedisConfiguration(url: "rediss://alice:s3cr%40t%3A%2F@redis.example.com:6380/5")
        #expect(configuration.tls)
        #expect(configuration.host == "redis.example.com")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "alice")
        #expect(configuration.password == "s3cr@t:/")
        #expect(configuration.database == 5)
    }

    @Test("a password without a user, and a lone userinfo, are passwords")
    func passwordOnly() throws {
        let withColon = try RedisConfiguration(url: "redis://:p%20w@127.0.0.1:7000")
        #expect(withColon.username == nil)
        #expect(withColon.password == "p w")
        #expect(withColon.port == 7000)
        let bare = try RedisConfiguration(url: "REDIS://secret@host/")
        #expect(bare.password == "secret")
        #expect(bare.database == 0)
    }

    @Test("an IPv6 host in brackets, with and without a port")
    func ipv6() throws {
        let withPort = try RedisConfiguration(url: "redis://[::1]:6390/2")
        #expect(withPort.host == "::1")
        #expect(withPort.port == 6390)
        #expect(withPort.database == 2)
        #expect(try RedisConfiguration(url: "redis://[::1]").port == 6379)
    }

    @Test("bad schemes, ports, databases, hosts and escapes are refused with a message")
    func refused() {
        let bad = [
            "http://localhost", "localhost:6379", "redis://", "redis://host:0", "redis://host:65536",
            "redis://host:abc", "redis://host:", "redis://host/-1", "redis://host/x", "redis://host/1/2",
            "redis://:%zz@host", "redis://:%4@host", "redis://host?db=1", "redis://[::1", "redis://[::1]x",
        ]
        for url in bad {
            do {
                let configuration = try RedisConfiguration(url: url)
                Issue.record("\(url) was accepted: \(configuration.host):\(configuration.port)/\(configuration.database)")
            } catch {
                #expect(!error.message.isEmpty)
                #expect(error.description.contains("invalid Redis URL"))
            }
        }
    }

    @Test("a rediss URL puts a TLS handler first in the pipeline; redis does not")
    func tlsHandler() throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let secure = try RedisConfiguration(url: "rediss://redis.example.com")
        let context = try NIOSSLContext(configuration: .makeClientConfiguration())
        let promise = group.next().makePromise(of: (any Error).self)
        let handlers = try RedisConnection.makeHandlers(configuration: secure, sslContext: context, closedPromise: promise).handlers
        #expect(handlers.first is NIOSSLClientHandler)
        // An IP address is allowed too (no SNI for it).
        let byAddress = try RedisConfiguration(url: "rediss://127.0.0.1:6380")
        #expect(try RedisConnection.makeHandlers(configuration: byAddress, sslContext: context, closedPromise: promise).handlers.first is NIOSSLClientHandler)
        let plain = try RedisConfiguration(url: "redis://redis.example.com")
        #expect(!(try RedisConnection.makeHandlers(configuration: plain, sslContext: nil, closedPromise: promise).handlers.first is NIOSSLClientHandler))
        promise.succeed(RedisError.shutdown)
    }
}
