// scripts/metadata-race: many threads meet on the same fresh generic metadata at once.
// Usage: metadata-race THREADS DEPTH (see the script).
import Foundation
import Synchronization

struct G<T> { var a: T; var b: [T]; var c: T?; var d: Int }
enum E<T> { case x(T), y(Int), z }
final class C<T> { var v: T?; var w: [T] = []; init() {} }
struct P<T, U> { var t: T; var u: U? }
struct Box<T> { var value: T?; var count: Int }
protocol Marker {}
extension G: Marker {}
extension E: Marker where T: Marker {}

let ready = Atomic<Int>(0)
let threads = Int(CommandLine.arguments.dropFirst().first ?? "8") ?? 8
let depth = Int(CommandLine.arguments.dropFirst(2).first ?? "7") ?? 7

@inline(never) @_optimize(none)
func touch<T>(_: T.Type) -> Int {
    var n = MemoryLayout<T>.size &+ MemoryLayout<T?>.size &+ MemoryLayout<[T]>.size
    // A dynamic conformance lookup (the runtime's conformance cache) and a key path
    // instantiated for the fresh type, as the server's JSON and collections do.
    if T.self is any Marker.Type { n &+= 1 }
    let path: AnyKeyPath = \Box<T>.value
    return n &+ (path.hashValue & 1)
}

@inline(never) @_optimize(none)
func walk<T>(_ t: T.Type, _ d: Int, _ salt: Int) -> Int {
    if d == 0 { return touch(T.self) }
    var s = touch(T.self)
    // Every thread walks every branch, in an order that depends on its salt, so the
    // threads meet on the same fresh metadata from different directions.
    for k in 0..<4 {
        switch (k + salt) % 4 {
        case 0: s &+= walk(G<T>.self, d - 1, salt)
        case 1: s &+= walk(E<T>.self, d - 1, salt)
        case 2: s &+= walk(C<T>.self, d - 1, salt)
        default: s &+= walk(P<T, E<T>>.self, d - 1, salt)
        }
    }
    return s
}

var ts: [Thread] = []
let done = Atomic<Int>(0)
for i in 0..<threads {
    let t = Thread {
        ready.add(1, ordering: .sequentiallyConsistent)
        while ready.load(ordering: .sequentiallyConsistent) < threads {}
        _ = walk(Int.self, depth, i)
        done.add(1, ordering: .sequentiallyConsistent)
    }
    ts.append(t)
}
for t in ts { t.start() }
while done.load(ordering: .sequentiallyConsistent) < threads { usleep(100) }
