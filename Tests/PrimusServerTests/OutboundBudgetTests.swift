@testable import PrimusServer
import Testing

@Suite("outbound budget: what a write does over the budget")
struct OutboundBudgetTests {
    @Test func everyWriteGoesOutWhileTheTransportIsWritable() {
        for policy in [OutboundOverflowPolicy.end, .dropNewest, .wait] {
            var budget = OutboundBudget(policy: policy)
            #expect(budget.write(.immediate, writable: true) == (.send, false))
            #expect(budget.write(.awaited, writable: true) == (.send, false))
            #expect(!budget.isOverBudget)
        }
    }

    @Test func endEndsTheSparkWhateverTheWrite() {
        var budget = OutboundBudget(policy: .end)
        #expect(budget.write(.immediate, writable: false) == (.end, true))
        var awaited = OutboundBudget(policy: .end)
        #expect(awaited.write(.awaited, writable: false) == (.end, true))
    }

    @Test func dropNewestDropsAndTellsTheApplicationOncePerCrossing() {
        var budget = OutboundBudget(policy: .dropNewest)
        #expect(budget.write(.immediate, writable: false) == (.drop, true))
        #expect(budget.write(.immediate, writable: false) == (.drop, false))
        #expect(budget.write(.awaited, writable: false) == (.drop, false))
        #expect(budget.writabilityChanged(true) == false)
        #expect(budget.write(.immediate, writable: false) == (.drop, true))  // a new crossing
    }

    @Test func waitHoldsAwaitedSendsAndDropsPlainWrites() {
        var budget = OutboundBudget(policy: .wait)
        #expect(budget.write(.awaited, writable: false) == (.wait, true))
        #expect(budget.write(.immediate, writable: false) == (.drop, false))
        #expect(budget.write(.awaited, writable: false) == (.wait, false))
    }

    @Test func theTransportsWordCountsAsACrossingToo() {
        var budget = OutboundBudget(policy: .dropNewest)
        #expect(budget.writabilityChanged(false) == true)
        #expect(budget.writabilityChanged(false) == false)
        #expect(budget.isOverBudget)
        #expect(budget.write(.immediate, writable: false) == (.drop, false))  // already told
        #expect(budget.writabilityChanged(true) == false)
        #expect(!budget.isOverBudget)
        #expect(budget.writabilityChanged(false) == true)
    }
}
