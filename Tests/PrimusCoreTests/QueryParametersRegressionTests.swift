import PrimusCore
import Testing

/// Inputs the query-string fuzzer (`Fuzz/Sources/FuzzQueryParameters`) found mishandled.
@Suite("Query string regressions")
struct QueryParametersRegressionTests {
    /// `?` followed by a combining mark (U+06DB, bytes DB 9B) is one Swift `Character`, which
    /// hid the delimiter: the query was not found at all. Node splits on the code unit.
    @Test func aCombiningMarkAfterTheQuestionMarkDoesNotHideTheQuery() {
        let query = QueryParameters(requestURI: "/primus?\u{06DB}=1")
        #expect(query.items.count == 1)
        #expect(query["\u{06DB}"] == "1")
    }

    /// The same for `&`, `=` and `#`: each still delimits when a combining mark follows it.
    @Test func combiningMarksAfterDelimitersDoNotHideThem() {
        let query = QueryParameters(requestURI: "/primus?a=1&\u{0301}b=\u{0301}2#\u{0301}c=3")
        #expect(query.items.map(\.name) == ["a", "\u{0301}b"])
        #expect(query["a"] == "1")
        #expect(query["\u{0301}b"] == "\u{0301}2")
        #expect(QueryParameters(Substring("k=\u{0301}v")).items.first?.value == "\u{0301}v")
    }
}
