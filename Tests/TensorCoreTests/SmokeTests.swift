import Testing
@testable import TensorCore

@Suite("Smoke") struct SmokeTests {
    @Test func packageBuilds() { #expect(1 + 1 == 2) }
}
