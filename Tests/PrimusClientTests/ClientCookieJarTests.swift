import NIOHTTP1
@testable import PrimusClient
import Testing

/// The client's cookie jar by itself: no sockets, the time passed in.
@Suite("ClientCookieJar: a server's cookies kept and sent back")
struct ClientCookieJarTests {
    /// 2026-12-03 07:40:00 UTC.
    static let now: Int64 = 1_796_283_600

    static func jar(_ lines: String..., limits: ClientCookieJar.Limits = .init(), now: Int64 = now) -> ClientCookieJar {
        var jar = ClientCookieJar(limits: limits)
        for line in lines { jar.receive(setCookie: line, now: now) }
        return jar
    }

    @Test("name=value is kept, attributes that do not apply to one origin are ignored, order is first set")
    func keepsNameAndValue() {
        let jar = Self.jar(
            "SERVERID=node2; path=/; HttpOnly; SameSite=Lax",
            " io = abc=def ; Domain=example.com",
            "empty="
        )
        #expect(jar.cookies.map(\.name) == ["SERVERID", "io", "empty"])
        #expect(jar.cookieHeader(secure: false, now: Self.now) == "SERVERID=node2; io=abc=def; empty=")
    }

    @Test("every Set-Cookie header of a response counts")
    func readsEveryHeader() {
        var jar = ClientCookieJar()
        var headers = HTTPHeaders()
        headers.add(name: "Set-Cookie", value: "a=1")
        headers.add(name: "content-type", value: "text/plain")
        headers.add(name: "set-cookie", value: "b=2; Max-Age=60")
        jar.receive(headers, now: Self.now)
        #expect(jar.cookieHeader(secure: false, now: Self.now) == "a=1; b=2")
    }

    @Test("what is not a cookie changes nothing: no '=', an empty name, control characters")
    func ignoresMalformedLines() {
        let jar = Self.jar("a=1", "novalue", "=anonymous", "   ", "", "bad=x\u{0}y", "ba\u{7F}d=1", "c=2")
        #expect(jar.cookieHeader(secure: false, now: Self.now) == "a=1; c=2")
    }

    @Test("a cookie of the same name replaces the old value and keeps its place")
    func replacesInPlace() {
        let jar = Self.jar("a=1", "b=2", "a=3")
        #expect(jar.cookieHeader(secure: false, now: Self.now) == "a=3; b=2")
    }

    @Test("Max-Age=0, a negative Max-Age or a past Expires deletes the cookie")
    func deletion() {
        #expect(Self.jar("a=1", "b=2", "a=gone; Max-Age=0").cookieHeader(secure: false, now: Self.now) == "b=2")
        #expect(Self.jar("a=1", "b=2", "b=; max-age=-1").cookieHeader(secure: false, now: Self.now) == "a=1")
        let past = Self.jar("a=1", "b=2", "a=deleted; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(past.cookieHeader(secure: false, now: Self.now) == "b=2")
        #expect(past.cookies.count == 1)
        // Deleting a cookie that was never set stores nothing.
        #expect(Self.jar("x=1; Max-Age=0").cookies.isEmpty)
    }

    @Test("Max-Age wins over Expires; an unreadable attribute is ignored")
    func maxAgeWins() {
        #expect(Self.jar("a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60").cookies.count == 1)
        #expect(Self.jar("a=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT").cookies.count == 1)
        #expect(Self.jar("a=1; Max-Age=0; Expires=Wed, 01 Jan 2098 00:00:00 GMT").cookies.isEmpty)
        #expect(Self.jar("a=1; Max-Age=soon").cookies.count == 1)
        #expect(Self.jar("a=1; Expires=someday").cookies.count == 1)
        #expect(Self.jar("a=1; Max-Age=99999999999999999999999").cookies.count == 1)
    }

    @Test("a cookie with a lifetime is sent until it runs out, then no more")
    func expiresLater() {
        var jar = Self.jar("short=1; Max-Age=10", "until=2; Expires=Thu, 03 Dec 2026 07:41:00 GMT", "session=3")
        #expect(jar.cookieHeader(secure: false, now: Self.now + 9) == "short=1; until=2; session=3")
        #expect(jar.cookieHeader(secure: false, now: Self.now + 10) == "until=2; session=3")
        #expect(jar.cookieHeader(secure: false, now: Self.now + 60) == "session=3")
        // An expired cookie no longer takes room.
        jar.receive(setCookie: "new=4", now: Self.now + 60)
        #expect(jar.cookies.map(\.name) == ["session", "new"])
    }

    @Test("a Secure cookie is sent over TLS only")
    func secureCookies() {
        let jar = Self.jar("plain=1", "locked=2; Secure", "also=3; secure; Path=/")
        #expect(jar.cookieHeader(secure: false, now: Self.now) == "plain=1")
        #expect(jar.cookieHeader(secure: true, now: Self.now) == "plain=1; locked=2; also=3")
        #expect(Self.jar("locked=2; Secure").cookieHeader(secure: false, now: Self.now) == nil)
    }

    @Test("at most maxCookies cookies: later ones are ignored, replacing a kept one still works")
    func boundedCount() {
        var jar = ClientCookieJar()
        for index in 0..<60 { jar.receive(setCookie: "c\(index)=\(index)", now: Self.now) }
        #expect(jar.cookies.count == 50)
        #expect(jar.cookies.last?.name == "c49")
        jar.receive(setCookie: "c0=replaced", now: Self.now)
        #expect(jar.cookies.first?.value == "replaced")
        jar.receive(setCookie: "c1=; Max-Age=0", now: Self.now)
        jar.receive(setCookie: "room=1", now: Self.now)
        #expect(jar.cookies.count == 50)
        #expect(jar.cookies.last?.name == "room")
    }

    @Test("a cookie over maxCookieBytes is ignored, and does not replace its namesake")
    func boundedCookieSize() {
        var jar = Self.jar("big=small")
        jar.receive(setCookie: "big=" + String(repeating: "x", count: 4094), now: Self.now)
        #expect(jar.cookies.first?.value == "small")
        jar.receive(setCookie: "big=" + String(repeating: "x", count: 4093), now: Self.now)
        #expect(jar.cookies.first?.value.count == 4093)
    }

    @Test("at most maxTotalBytes in all: a cookie that would pass it is ignored")
    func boundedTotal() {
        var jar = ClientCookieJar()
        let value = String(repeating: "v", count: 4000)
        for index in 0..<4 { jar.receive(setCookie: "k\(index)=" + value, now: Self.now) }  // 16,008 bytes
        jar.receive(setCookie: "s=" + String(repeating: "s", count: 300), now: Self.now)  // 16,310
        jar.receive(setCookie: "k4=" + value, now: Self.now)
        #expect(jar.cookies.map(\.name) == ["k0", "k1", "k2", "k3", "s"])
        // Growing a kept cookie past the total is refused too; shrinking one makes room.
        jar.receive(setCookie: "k0=" + value + String(repeating: "v", count: 90), now: Self.now)
        #expect(jar.cookies[0].value.count == 4000)
        jar.receive(setCookie: "k0=short", now: Self.now)
        jar.receive(setCookie: "k4=" + value, now: Self.now)
        #expect(jar.cookies.map(\.name) == ["k0", "k1", "k2", "k3", "s", "k4"])
        #expect(jar.cookies.reduce(0) { $0 + $1.byteCount } <= 16 * 1024)
    }

    @Test("a hostile server's stream of cookies never grows the jar past its limits")
    func hostileStream() {
        var jar = ClientCookieJar()
        for index in 0..<2_000 {
            jar.receive(setCookie: "n\(index)=" + String(repeating: "z", count: index * 37 % 6000) + "; Path=/", now: Self.now)
        }
        #expect(jar.cookies.count <= 50)
        #expect(jar.cookies.reduce(0) { $0 + $1.byteCount } <= 16 * 1024)
        #expect(jar.cookies.allSatisfy { $0.byteCount <= 4096 })
    }

    @Test("request headers: one Cookie header, the user's own cookies first; untouched when the jar is empty")
    func mergesWithTheUsersCookieHeader() {
        let jar = Self.jar("SERVERID=node1", "b=2")
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer t")
        headers.add(name: "Cookie", value: "mine=1")
        let merged = jar.requestHeaders(headers, secure: false, now: Self.now)
        #expect(merged["cookie"] == ["mine=1; SERVERID=node1; b=2"])
        #expect(merged["authorization"] == ["Bearer t"])

        let twice = jar.requestHeaders(["Cookie": "a=1", "cookie": "c=3"], secure: false, now: Self.now)
        #expect(twice["cookie"] == ["a=1; c=3; SERVERID=node1; b=2"])

        #expect(jar.requestHeaders([:], secure: false, now: Self.now)["cookie"] == ["SERVERID=node1; b=2"])
        let empty = ClientCookieJar().requestHeaders(headers, secure: false, now: Self.now)
        #expect(empty["cookie"] == ["mine=1"])
        #expect(Self.jar("s=1; Secure").requestHeaders(headers, secure: false, now: Self.now)["cookie"] == ["mine=1"])
    }
}

/// `Expires` dates the lenient way of RFC 6265 section 5.1.1.
@Suite("CookieDate: the Expires attribute")
struct CookieDateTests {
    @Test("the formats servers send all read as the same instant")
    func formats() {
        let instant: Int64 = 1_792_567_680  // 2026-10-21 07:28:00 UTC
        for text in [
            "Wed, 21 Oct 2026 07:28:00 GMT",
            "Wednesday, 21-Oct-26 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2026",
            "21 october 2026 7:28:0",
        ] {
            #expect(CookieDate.parse(text[...]) == instant, "\(text)")
        }
        #expect(CookieDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(CookieDate.parse("Tue, 29 Feb 2000 12:00:00 GMT") == 951_825_600)
        #expect(CookieDate.parse("Sat, 01 Jan 1601 00:00:00 GMT") == -11_644_473_600)
    }

    @Test("two-digit years: 70 to 99 are 19xx, 00 to 69 are 20xx")
    func twoDigitYears() {
        #expect(CookieDate.parse("01-Jan-70 00:00:00 GMT") == 0)
        #expect(CookieDate.parse("01-Jan-69 00:00:00 GMT") == 3_124_224_000)
    }

    @Test("not a date: a part missing or out of range")
    func invalid() {
        for text in [
            "", "tomorrow", "Wed, 21 Oct 2026 GMT", "Wed, 21 2026 07:28:00 GMT", "Wed, 32 Oct 2026 07:28:00 GMT",
            "Wed, 21 Oct 2026 24:00:00 GMT", "Wed, 21 Oct 2026 07:60:00 GMT", "Wed, 21 Oct 1600 07:28:00 GMT",
            "Wed, 21 Oct 2026 071:28:00 GMT",
        ] {
            #expect(CookieDate.parse(text[...]) == nil, "\(text)")
        }
    }
}
