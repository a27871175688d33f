#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPTypes
import NIOCore

/// The address the per-address limits key on.
///
/// It is the socket's peer address. `X-Forwarded-For` is believed only when the peer is
/// one of the configured trusted proxies (`--trusted-proxies`): then the rightmost entry
/// that is not itself a trusted proxy is the client (entries further left are whatever
/// the client chose to send). IPv6 clients are keyed by their /64 network, since one host
/// usually holds a whole /64; IPv4-mapped IPv6 addresses count as their IPv4 address.
struct ClientAddress: Sendable {
    let trustedProxies: Set<String>

    init(trustedProxies: [String]) {
        self.trustedProxies = Set(trustedProxies.compactMap(Self.canonical))
    }

    func key(peer: SocketAddress?, headers: HTTPFields) -> String {
        guard let ip = peer?.ipAddress, let canonical = Self.canonical(ip) else { return "unknown" }
        guard trustedProxies.contains(canonical) else { return Self.limitKey(canonical) }
        let hops = headers[values: .xForwardedFor].flatMap { $0.split(separator: ",") }
        for hop in hops.reversed() {
            guard let address = Self.canonical(hop.trimmingCharacters(in: .whitespaces)) else { break }
            if !trustedProxies.contains(address) { return Self.limitKey(address) }
        }
        return Self.limitKey(canonical)
    }

    /// The address in one spelling (`::ffff:1.2.3.4` as `1.2.3.4`), or nil if it is none.
    static func canonical(_ text: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return format(AF_INET, &v4, INET_ADDRSTRLEN) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        return format(AF_INET6, &v6, INET6_ADDRSTRLEN)
    }

    /// An IPv4 address as is; an IPv6 address as its /64 network.
    static func limitKey(_ canonical: String) -> String {
        var v6 = in6_addr()
        guard canonical.contains(":"), inet_pton(AF_INET6, canonical, &v6) == 1 else { return canonical }
        withUnsafeMutableBytes(of: &v6) { raw in
            for i in 8..<16 { raw[i] = 0 }
        }
        return (format(AF_INET6, &v6, INET6_ADDRSTRLEN) ?? canonical) + "/64"
    }

    private static func format<T>(_ family: Int32, _ address: inout T, _ length: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(length))
        let written = withUnsafeBytes(of: &address) { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(length)) != nil }
        guard written else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension ServerConfiguration {
    /// Whether `text` is an IPv4 or IPv6 address (for checking `--trusted-proxies`).
    public static func isIPAddress(_ text: String) -> Bool { ClientAddress.canonical(text) != nil }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
