import Foundation

/// Which push services subscription endpoints may point to (PROTOCOL.md §8, "Allowed push
/// services"): a subscription endpoint must never become a way to make the server call an
/// arbitrary URL, so an endpoint is accepted only when its origin is on the operator's list.
///
/// The list holds origins, comma-separated: `https://fcm.googleapis.com`, or
/// `https://*.notify.windows.com` for any subdomain (not the bare domain). An `http://`
/// origin matches only when it is listed as such. Parsing is strict rather than lenient,
/// since the host the server connects to must be the host that was checked: no user info,
/// no whitespace, backslashes, control or non-ASCII characters, no fragment, a host of
/// letters, digits, dots and hyphens (or a bracketed IPv6 literal), and a port equal to the
/// listed origin's effective port. Hosts compare without regard to case.
public struct PushEndpointPolicy: Sendable, Equatable {
    public static let defaultList = "https://fcm.googleapis.com,https://updates.push.services.mozilla.com,https://web.push.apple.com,https://*.notify.windows.com"
    /// Longest endpoint accepted (PROTOCOL.md §8).
    public static let maxEndpointLength = 2048

    /// One allowed origin: scheme, host (lower case, without the `*.`), effective port.
    public struct Origin: Sendable, Equatable {
        public var scheme: String
        public var host: String
        public var port: Int
        /// `*.host`: any subdomain of `host`, not `host` itself.
        public var anySubdomain: Bool
    }

    /// An entry of the list that is not an origin.
    public struct ListError: Error, CustomStringConvertible {
        public let entry: String
        public var description: String { "not an origin (scheme://host[:port], host may start with *.): \(entry)" }
    }

    public let origins: [Origin]

    /// Parses a comma-separated list of origins; empty entries are skipped, a bad one throws.
    public init(list: String) throws(ListError) {
        var origins: [Origin] = []
        for raw in list.split(separator: ",") {
            let entry = raw.trimmingCharacters(in: .whitespaces)
            guard !entry.isEmpty else { continue }
            var text = Substring(entry)
            if text.hasSuffix("/") { text = text.dropLast() }
            var wildcard = false
            guard let parsed = Self.parse(text, path: false, wildcard: &wildcard) else { throw ListError(entry: entry) }
            origins.append(Origin(scheme: parsed.scheme, host: parsed.host, port: parsed.port, anySubdomain: wildcard))
        }
        self.origins = origins
    }

    /// Whether `endpoint` is an absolute URL of at most 2048 characters whose origin is allowed.
    public func allows(_ endpoint: String) -> Bool {
        guard endpoint.utf8.count <= Self.maxEndpointLength else { return false }
        var wildcard = false
        guard let url = Self.parse(Substring(endpoint), path: true, wildcard: &wildcard), !wildcard else { return false }
        return origins.contains { o in
            guard o.scheme == url.scheme, o.port == url.port else { return false }
            return o.anySubdomain ? url.host.hasSuffix("." + o.host) : url.host == o.host
        }
    }

    /// The origin of an endpoint this policy allows (`https://host[:port]`), for the VAPID
    /// token's audience; nil for anything `allows` refuses.
    public func origin(of endpoint: String) -> String? {
        guard allows(endpoint) else { return nil }
        var wildcard = false
        guard let url = Self.parse(Substring(endpoint), path: true, wildcard: &wildcard) else { return nil }
        let defaultPort = url.scheme == "https" ? 443 : 80
        return url.port == defaultPort ? "\(url.scheme)://\(url.host)" : "\(url.scheme)://\(url.host):\(url.port)"
    }

    /// Splits `scheme://host[:port]` and, with `path`, an optional rest starting with `/` or
    /// `?`. `wildcard` is set when the host starts with `*.` (allowed in the list only).
    private static func parse(_ text: Substring, path: Bool, wildcard: inout Bool) -> (scheme: String, host: String, port: Int)? {
        // Printable ASCII only: no whitespace, controls, non-ASCII, backslashes or fragments.
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "#") }) else { return nil }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon].lowercased()
        guard scheme == "https" || scheme == "http" else { return nil }
        let afterScheme = text[text.index(after: colon)...]
        guard afterScheme.hasPrefix("//") else { return nil }
        let rest = afterScheme.dropFirst(2)
        let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        guard path || end == rest.endIndex else { return nil }
        var authority = rest[..<end]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host: String
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let literal = authority[authority.index(after: authority.startIndex)..<close]
            guard !literal.isEmpty, literal.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
            host = "[" + literal.lowercased() + "]"
            let tail = authority[authority.index(after: close)...]
            if !tail.isEmpty {
                guard tail.hasPrefix(":") else { return nil }
                portText = tail.dropFirst()
            }
        } else {
            if let c = authority.firstIndex(of: ":") {
                portText = authority[authority.index(after: c)...]
                authority = authority[..<c]
            }
            if authority.hasPrefix("*.") {
                wildcard = true
                authority = authority.dropFirst(2)
            }
            guard isHostName(authority) else { return nil }
            host = authority.lowercased()
        }
        var port = scheme == "https" ? 443 : 80
        if let portText {
            // No leading zero: `:0443` is not how anyone writes 443, and refusing it keeps one
            // spelling per port.
            guard (1...5).contains(portText.count), portText.first != "0", portText.allSatisfy(\.isASCIIDigit),
                let p = Int(portText), (1...65535).contains(p)
            else { return nil }
            port = p
        }
        return (scheme, host, port)
    }

    /// Dot-separated labels of letters, digits and hyphens, none empty.
    private static func isHostName(_ s: Substring) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.allSatisfy { $0.isASCIIDigit || $0.isASCIILetter || $0 == "-" }
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIILetter: Bool { isASCII && isLetter }
}

/// The operator named in every VAPID token (`--push-subject`, RFC 8292 §2.1): a `mailto:`
/// address or an `https:` URL, so that a push service can reach whoever runs the server.
public enum PushSubject {
    public static let `default` = "mailto:admin@localhost"

    public static func isValid(_ subject: String) -> Bool {
        guard subject.utf8.count <= 512, subject.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return false }
        let lower = subject.lowercased()
        if lower.hasPrefix("mailto:") {
            let address = subject.dropFirst("mailto:".count)
            guard let at = address.firstIndex(of: "@") else { return false }
            return !address[..<at].isEmpty && !address[address.index(after: at)...].isEmpty
                && address.filter({ $0 == "@" }).count == 1
        }
        guard lower.hasPrefix("https://") else { return false }
        let host = subject.dropFirst("https://".count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return !host.isEmpty && !host.contains("@")
    }
}

extension PushEndpointPolicy {
    /// The contract's default list (``defaultList``).
    public static let standard: PushEndpointPolicy = (try? PushEndpointPolicy(list: defaultList)) ?? PushEndpointPolicy(origins: [])

    private init(origins: [Origin]) { self.origins = origins }
}
