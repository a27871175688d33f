import Foundation

/// WebSocket client messages: any bytes must parse to a message within the contract's
/// ranges or to a clean failure.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    switch ClientMessage.parse(UnsafeBufferPointer(start: data, count: size)) {
    case .success(.location(let p)):
        check(p.lat.isFinite && p.lon.isFinite && abs(p.lat) <= 90 && abs(p.lon) <= 180, "location out of range")
    case .success(.accept(let id, _, let party)):
        check(!id.isEmpty && id.utf8.count <= 64, "call id out of range")
        check((1...10).contains(party), "party out of range")
    case .success(.decline(let id)), .success(.withdraw(let id, _)), .success(.funnel(let id, _)), .success(.checkin(let id, _, _)):
        check(!id.isEmpty && id.utf8.count <= 64, "call id out of range")
    default:
        break
    }
    return 0
}

func check(_ condition: Bool, _ what: String) {
    if !condition { fatalError("invariant broken: \(what)") }
}
