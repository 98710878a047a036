import Testing

@testable import RillChecker

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null, "x"], "b": {}, "c": []} "#)
        let expected = JSONValue.object(JSONObject([
            .init(key: "a", value: .array([.integer(1), .integer(-2), .number(3.5), .number(1000), .bool(true), .bool(false), .null, .string("x")])),
            .init(key: "b", value: .object(JSONObject())),
            .init(key: "c", value: .array([])),
        ]))
        #expect(value == expected)
    }

    @Test func keepsObjectMembersInTextOrder() throws {
        guard case .object(let object) = try JSONParser.parse(#"{"t-9": 1, "t-1": 2, "t-5": 3}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(object.members.map(\.key) == ["t-9", "t-1", "t-5"])
        #expect(object["t-1"] == .integer(2))
        #expect(object["t-2"] == nil)
    }

    @Test func integersUseTheWholeInt64Range() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .integer(.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .integer(.min))
        #expect(try JSONParser.parse("9223372036854775808") == .number(9_223_372_036_854_775_808))
        #expect(try JSONParser.parse("0") == .integer(0))
        #expect(try JSONParser.parse("-0") == .integer(0))
    }

    @Test func decodesEscapesAndUnicode() throws {
        #expect(try JSONParser.parse(#""a\"b\\c\/d\n\t\r\b\f""#) == .string("a\"b\\c/d\n\t\r\u{8}\u{C}"))
        #expect(try JSONParser.parse(#""\u00e9\u4e2d\ud83d\ude00""#) == .string("é中😀"))
        #expect(try JSONParser.parse("\"héllo 中\"") == .string("héllo 中"))
    }

    @Test(arguments: [
        ("", 1), ("{", 2), ("[1,]", 4), ("[1 2]", 4), (#"{"a" 1}"#, 6), (#"{"a": 1,}"#, 9), ("tru", 1), ("nul", 1),
        ("01", 1), ("-", 2), ("1.", 3), ("1e", 3), (#""abc"#, 1), (#""a\x""#, 4), (#""\u12""#, 4), (#""\ud800""#, 8),
        (#""\ud800\u0041""#, 14), ("[1] 2", 5), ("\"a\u{1}\"", 3), ("'a'", 1), (#"{"a": 1, "a": 2}"#, 10),
    ] as [(String, Int)])
    func rejectsInvalidJSONWithTheColumn(_ text: String, _ column: Int) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.column == column, "\(text): \(error)")
        }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x62, 0x22]
        let result = bytes.withUnsafeBufferPointer { buffer in Result { () throws(JSONParser.Failure) in try JSONParser.parse(buffer) } }
        guard case .failure(let failure) = result else {
            Issue.record("invalid UTF-8 accepted")
            return
        }
        #expect(failure.message.contains("UTF-8"))
    }

    @Test func limitsNesting() throws {
        let deep = String(repeating: "[", count: CheckerLimits.maximumJSONDepth + 1) + String(repeating: "]", count: CheckerLimits.maximumJSONDepth + 1)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(deep) }
        let allowed = String(repeating: "[", count: CheckerLimits.maximumJSONDepth) + String(repeating: "]", count: CheckerLimits.maximumJSONDepth)
        _ = try JSONParser.parse(allowed)
    }

    /// Every prefix of a valid line is either a failure or (for the complete line) the value: the
    /// parser never crashes or reads past the end on truncated input.
    @Test func everyTruncationFailsCleanly() throws {
        let line = #"{"index": 3, "value": [["send", "t-0", [42, "v\u00e9"]]], "x": {"y": [true, null, -1.5e-3]}}"#
        let bytes = Array(line.utf8)
        for count in 0..<bytes.count {
            let prefix = Array(bytes[0..<count])
            let result = prefix.withUnsafeBufferPointer { buffer in Result { () throws(JSONParser.Failure) in try JSONParser.parse(buffer) } }
            if case .success = result { Issue.record("prefix of \(count) bytes parsed") }
        }
        _ = try JSONParser.parse(line)
    }
}
