/// A push subscription's endpoint URL, parsed strictly enough to decide where a request goes.
///
/// A subscription endpoint comes from a browser, which is to say from anyone: the server must
/// never let it name an address it would not call otherwise. So this parser accepts only the
/// plain shape push services use — `http(s)://host[:port]/path[?query]` in printable ASCII — and
/// refuses everything a lenient URL parser would interpret in surprising ways: userinfo (`@`),
/// backslashes, whitespace, percent-encoded or non-ASCII hosts, fragments, empty ports.
public struct PushEndpoint: Sendable, Hashable {
    /// The longest endpoint accepted, in characters (contract §8).
    public static let maximumLength = 2048

    /// `http` or `https`, lowercased.
    public let scheme: String
    /// The host, lowercased: a DNS name, a dotted IPv4 address or a bracketed IPv6 literal.
    public let host: String
    /// The port the request goes to: the explicit one, else 443 or 80 by scheme.
    public let port: Int
    /// The URL that gets requested: the text as given, with the scheme lowercased.
    public let url: String

    /// Parses `url`, or returns nil when it is not an endpoint this library would call.
    public init?(_ url: String) {
        guard url.utf8.count <= Self.maximumLength,
            let parts = OriginParts(url, allowingPath: true, allowingWildcard: false)
        else { return nil }
        self.scheme = parts.scheme
        self.host = parts.host
        self.port = parts.port
        self.url = parts.scheme + url.dropFirst(parts.scheme.utf8.count)
    }

    /// The origin (RFC 6454) `scheme://host[:port]`, with the port only when it is not the
    /// scheme's default: the `aud` of a VAPID token (RFC 8292 §2).
    public var origin: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? "\(scheme)://\(host)" : "\(scheme)://\(host):\(port)"
    }
}

/// The scheme, host and port of an endpoint or of an allow-list origin, with what follows
/// the authority checked. Shared so that the list and the endpoints are read the same way.
struct OriginParts {
    var scheme: String
    var host: String
    var port: Int
    /// True when the host was written `*.domain`; `host` is then `domain`.
    var isWildcard: Bool

    init?(_ text: String, allowingPath: Bool, allowingWildcard: Bool) {
        let bytes = Array(text.utf8)
        // Printable ASCII only: no whitespace, no control characters, no backslash, no
        // non-ASCII (an IDN host must arrive as punycode).
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") })
        else { return nil }
        let lowered = text.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") {
            scheme = "https"
            rest = lowered.dropFirst("https://".count)
        } else if lowered.hasPrefix("http://") {
            scheme = "http"
            rest = lowered.dropFirst("http://".count)
        } else {
            return nil
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]
        guard !tail.contains("#") else { return nil }
        if allowingPath {
            guard tail.isEmpty || tail.hasPrefix("/") else { return nil }
        } else {
            guard tail.isEmpty || tail == "/" else { return nil }
        }
        guard !authority.contains("@"), let (host, port) = Self.splitHostPort(authority) else { return nil }
        let defaultPort = scheme == "https" ? 443 : 80
        self.port = port ?? defaultPort
        if allowingWildcard, host.hasPrefix("*.") {
            isWildcard = true
            self.host = String(host.dropFirst(2))
            guard Self.isDomainName(self.host), !Self.isIPv4(self.host) else { return nil }
        } else {
            isWildcard = false
            self.host = String(host)
            guard Self.isIPv6Literal(host) || Self.isIPv4(host) || Self.isDomainName(host) else { return nil }
        }
    }

    /// `host` and the explicit port, if any; nil for an empty host, an empty or bad port.
    private static func splitHostPort(_ authority: Substring) -> (Substring, Int?)? {
        let host: Substring
        let portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                portText = nil
            } else {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
            portText = nil
        }
        guard !host.isEmpty else { return nil }
        guard let portText else { return (host, nil) }
        guard (1...5).contains(portText.count), portText.first != "0", portText.allSatisfy(\.isASCIIDigit),
            let port = Int(portText), (1...65535).contains(port)
        else { return nil }
        return (host, port)
    }

    /// Dot-separated labels of letters, digits and inner hyphens, 1–63 characters each;
    /// no empty label (so no leading, trailing or doubled dot).
    static func isDomainName(_ host: some StringProtocol) -> Bool {
        guard host.utf8.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCIILetterOrDigit || $0 == "-" }
        }
    }

    /// Four decimal numbers 0–255: an IPv4 literal (which matches only when listed verbatim).
    static func isIPv4(_ host: some StringProtocol) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                (1...3).contains(part.count) && part.allSatisfy(\.isASCIIDigit) && (Int(part) ?? 256) <= 255
            }
    }

    /// `[` hex digits, colons and dots `]`; no zone identifier.
    static func isIPv6Literal(_ host: some StringProtocol) -> Bool {
        guard host.hasPrefix("["), host.hasSuffix("]"), host.count > 2 else { return false }
        return host.dropFirst().dropLast().allSatisfy { $0.isHexDigit && $0.isASCII || $0 == ":" || $0 == "." }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
    fileprivate var isASCIILetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}
