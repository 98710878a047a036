import RillBroker
import Testing

/// `server.properties` is Java properties text; these are the rules of `java.util.Properties.load`.
@Suite struct JavaPropertiesTests {
    /// The parsed pairs as "key=value" strings, for compact expectations.
    func pairs(_ text: String) throws -> [String] {
        try JavaProperties.parse(text).map { "\($0.key)=\($0.value)" }
    }

    @Test func commentLinesStartWithHashOrBangAfterOptionalWhitespace() throws {
        let text = """
            # a comment
            ! another comment
               # indented comment
            \t! tab-indented comment

            key=value
            """
        let parsed = try JavaProperties.parse(text)
        #expect(parsed.map(\.key) == ["key"])
        #expect(parsed.map(\.value) == ["value"])
        #expect(parsed.map(\.line) == [6])
    }

    @Test func aHashInsideAValueIsNotAComment() throws {
        #expect(try pairs("color=#ff0000 ! not a comment") == ["color=#ff0000 ! not a comment"])
    }

    @Test func keysAndValuesAreSeparatedByEqualsColonOrWhitespace() throws {
        let text = """
            equals=1
            colon:2
            space 3
            tab\t4
            spaced = 5
            spacedColon : 6
            many     7
            whitespaceThenEquals   =   8
            """
        #expect(try pairs(text) == [
            "equals=1", "colon=2", "space=3", "tab=4", "spaced=5", "spacedColon=6", "many=7", "whitespaceThenEquals=8",
        ])
    }

    @Test func onlyTheFirstSeparatorSplits() throws {
        #expect(try pairs("url=http://host:80/a=b") == ["url=http://host:80/a=b"])
        #expect(try pairs("double==x") == ["double==x"])
        #expect(try pairs("key value with spaces") == ["key=value with spaces"])
    }

    @Test func aKeyWithoutSeparatorHasAnEmptyValue() throws {
        #expect(try pairs("lonely") == ["lonely="])
        #expect(try pairs("empty=") == ["empty="])
    }

    @Test func aTrailingBackslashContinuesTheLineAndLeadingWhitespaceOfTheNextIsDropped() throws {
        let text = "fruits = apple, \\\n         banana, \\\n\t pear\nnext=1\n"
        let parsed = try JavaProperties.parse(text)
        #expect(parsed.map(\.key) == ["fruits", "next"])
        #expect(parsed.first?.value == "apple, banana, pear")
        // A continued entry reports the line it starts on; the next entry its own.
        #expect(parsed.map(\.line) == [1, 4])
    }

    @Test func aContinuationLineThatLooksLikeACommentIsPartOfTheValue() throws {
        #expect(try pairs("a=x\\\n# not a comment\n") == ["a=x# not a comment"])
    }

    @Test func anEvenNumberOfTrailingBackslashesIsAnEscapedBackslashNotAContinuation() throws {
        #expect(try pairs("path=C:\\\\\nnext=1") == ["path=C:\\", "next=1"])
        #expect(try pairs("path=C:\\\\\\\nmore") == ["path=C:\\more"])
    }

    @Test func aContinuationAtTheEndOfTheTextEndsTheEntry() throws {
        #expect(try pairs("a=x\\") == ["a=x"])
    }

    /// Java accepts \n, \r\n and a lone \r as line terminators. In Swift "\r\n" is one
    /// Character, so splitting on the Character "\n" alone would keep a CRLF file on one line.
    @Test func carriageReturnLineEndingsAreAccepted() throws {
        #expect(try pairs("a=1\r\nb=2\r\n") == ["a=1", "b=2"])
        #expect(try pairs("# comment\r\nnode.id=3\r\nlog.dirs=/data\r\n") == ["node.id=3", "log.dirs=/data"])
        #expect(try pairs("a=1\rb=2\r") == ["a=1", "b=2"])
        #expect(try JavaProperties.parse("a=1\r\n\r\nb=2").map(\.line) == [1, 3])
        // A continuation before a CRLF continues onto the next line.
        #expect(try pairs("list=one, \\\r\n  two\r\n") == ["list=one, two"])
    }

    @Test func escapesAreDecodedInKeysAndValues() throws {
        let text = #"""
            tab=a\tb
            newline=a\nb
            return=a\rb
            formfeed=a\fb
            backslash=a\\b
            colon\:key=v1
            equals\=key=v2
            space\ key=v3
            unknown=\q\z
            """#
        #expect(try pairs(text) == [
            "tab=a\tb", "newline=a\nb", "return=a\rb", "formfeed=a\u{0C}b", "backslash=a\\b",
            "colon:key=v1", "equals=key=v2", "space key=v3", "unknown=qz",
        ])
    }

    @Test func unicodeEscapesDecodeFourHexDigits() throws {
        #expect(try pairs(#"name=caf\u00e9"#) == ["name=café"])
        #expect(try pairs(#"name=\u0041BC"#) == ["name=ABC"])
        #expect(try pairs(#"\u006bey=value"#) == ["key=value"])
        #expect(try pairs(#"upper=\u00C9"#) == ["upper=É"])
    }

    @Test(arguments: [
        (#"bad=\u12G4"#, "not hex"),
        (#"bad=\u12"#, "too short at the end"),
        (#"bad=\uD800"#, "a lone surrogate is no Unicode scalar"),
        (#"b\uzzzz=1"#, "in the key"),
    ])
    func aBadUnicodeEscapeThrowsWithItsLineNumber(escape: String, why: String) throws {
        let text = "# comment\n\nok=1\n\(escape)\nafter=2\n"
        let error = try #require(throws: JavaProperties.ParseError.self, "\(why)") { try JavaProperties.parse(text) }
        #expect(error.line == 4, "\(why)")
        #expect(error.description.hasPrefix("line 4:"))
    }

    @Test func aBadEscapeInAContinuedEntryReportsTheEntrysFirstLine() throws {
        let text = "ok=1\nbad=one \\\n  two \\u00\n"
        let error = try #require(throws: JavaProperties.ParseError.self) { try JavaProperties.parse(text) }
        #expect(error.line == 2)
    }

    @Test func emptyTextHasNoEntries() throws {
        #expect(try JavaProperties.parse("").isEmpty)
        #expect(try JavaProperties.parse("\n\n   \n# only comments\n").isEmpty)
    }
}
