import NIOCore
import NIOPosix
import Prometheus
import Testing
@testable import HelferrufServer

/// The places where Swift's own checks are off (`@unchecked Sendable`, state that only one
/// event loop may touch) keep their promise by a runtime check: touched from the wrong
/// thread, they trap instead of racing. Each test runs in a child process (an exit test)
/// and expects it to die.
@Suite struct LoopConfinementTests {
    /// ``PingSweep`` is `@unchecked Sendable` because only its event loop touches it.
    @Test func pingSweepTrapsWhenAMemberJoinsFromAnotherThread() async {
        await #expect(processExitsWith: .failure) {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let sweep = PingSweep(loop: group.next(), period: .seconds(20))
            sweep.add(LoopConfinementTests.handler())
        }
    }

    /// The same member added on its loop is fine: the trap above is the thread, not the call.
    @Test func pingSweepAcceptsAMemberOnItsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let sweep = PingSweep(loop: loop, period: .seconds(20))
        try await loop.submit {
            let member = LoopConfinementTests.handler()
            sweep.add(member)
            #expect(member.sweepSlot == 0)
            sweep.remove(member)
            #expect(member.sweepSlot == nil)
        }.get()
        try await group.shutdownGracefully()
    }

    /// An ``Outbox`` writes to its channel only on the channel's event loop (debug builds
    /// check it; the tests and CI's crash test run those).
    @Test func outboxDrainTrapsOffTheChannelsEventLoop() async {
        await #expect(processExitsWith: .failure) {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
            let outbox = Outbox(capacity: 4)
            outbox.bind(channel)
            outbox.drain()
        }
    }

    /// A volunteer socket's handler, never added to a pipeline.
    static func handler() -> VolunteerChannelHandler {
        let telemetry = Telemetry()
        let gate = HelloGate<VolunteerConnection>(
            capacity: 4, helloTimeout: .seconds(10), admit: { _, _ in .unknownToken }, handle: { _, _ in }, detach: { _ in })
        let setup = VolunteerSocketSetup(
            gate: gate, admission: HelloAdmission(limit: 1, telemetry: telemetry), pings: PingSweeps(period: .seconds(20)),
            closeTimeout: .seconds(3))
        let limits = RateLimits(RateLimitSettings(), registry: PrometheusCollectorRegistry())
        return VolunteerChannelHandler(setup: setup, peer: SocketPeer(originAllowed: true, address: "127.0.0.1", limits: limits), maxMessageBytes: 1024)
    }
}
