import Testing
@testable import VBenchLite

@Suite("VBenchLite smoke") struct VBenchLiteSmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
