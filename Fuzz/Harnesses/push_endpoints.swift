/// Push subscription endpoints and keys (PROTOCOL.md §8): no trap, and an allowed endpoint
/// has none of the tricks that would make the server call another host than the one checked.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for policy in policies where policy.allows(text) {
        let lower = text.lowercased()
        check(lower.hasPrefix("https://") || lower.hasPrefix("http://"), "scheme")
        let rest = text.range(of: "://").map { text[$0.upperBound...] } ?? ""
        check(!rest.prefix { $0 != "/" && $0 != "?" }.contains("@"), "user info")
        check(!text.contains("#") && !text.contains("\\") && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }, "characters")
        check(text.utf8.count <= PushEndpointPolicy.maxEndpointLength, "length")
        check(policy.origin(of: text) != nil, "origin")
    }
    if let bytes = Base64URL.decode(text) {
        check(Base64URL.decode(Base64URL.encode(bytes)) == bytes, "base64url round trip")
    }
    if let list = try? PushEndpointPolicy(list: text) { check(list.origins.allSatisfy { !$0.host.isEmpty }, "list host") }
    _ = PushSubject.isValid(text)
    return 0
}

private let policies = [PushEndpointPolicy.standard, (try? PushEndpointPolicy(list: "http://127.0.0.1:8099,http://[::1]:9000,https://*.example.org")) ?? .standard]

func check(_ condition: Bool, _ what: String) {
    if !condition { fatalError("invariant broken: \(what)") }
}
