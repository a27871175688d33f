/// RFC 3339 parsing: any text parses or is refused without trapping, and what parses
/// survives a round trip through the server's own format.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let t = RFC3339.parse(String(decoding: bytes, as: UTF8.self)) {
        let text = RFC3339.format(t)
        check(RFC3339.parse(text) == t, "round trip changed \(t.millis) (\(text))")
    }
    // Any instant from year 0 to 9999 formats to text that parses back to it.
    if size >= 8 {
        var raw: UInt64 = 0
        for b in bytes.prefix(8) { raw = raw << 8 | UInt64(b) }
        let span = UInt64(RFC3339.writableRange.upperBound - RFC3339.writableRange.lowerBound + 1)
        let millis = Int64(raw % span) + RFC3339.writableRange.lowerBound
        let t = Timestamp(millis: millis)
        check(RFC3339.parse(RFC3339.format(t)) == t, "format of \(millis) does not parse back")
    }
    return 0
}

func check(_ condition: Bool, _ what: String) {
    if !condition { fatalError("invariant broken: \(what)") }
}
