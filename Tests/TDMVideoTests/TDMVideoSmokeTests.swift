import Testing
@testable import TDMVideo

@Suite("TDMVideo smoke") struct TDMVideoSmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
