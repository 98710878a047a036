/// Parses Java `.properties` text, the format of Kafka's server.properties: `key=value`,
/// `key: value` or `key value`; `#` and `!` comment lines; a trailing backslash continues a
/// line; `\t`, `\n`, `\\`, `\=`, `\:` and `\uXXXX` escapes.
public enum JavaProperties {
    public struct ParseError: Error, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func parse(_ text: String) throws -> [(key: String, value: String, line: Int)] {
        var result: [(key: String, value: String, line: Int)] = []
        var logical = ""
        var startLine = 0
        // Java's line terminators are \n, \r\n and \r. "\r\n" is a single Character in Swift, so it
        // must be named: splitting on "\n" alone would leave a CRLF file as one line.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for (index, rawLine) in lines.enumerated() {
            var line = Substring(rawLine)
            if logical.isEmpty {
                line = line.drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
                if line.isEmpty || line.first == "#" || line.first == "!" { continue }
                startLine = index + 1
            } else {
                line = line.drop { $0 == " " || $0 == "\t" }
            }
            if endsWithOddBackslashes(line) {
                logical += line.dropLast()
                continue
            }
            logical += line
            result.append(try split(logical, line: startLine))
            logical = ""
        }
        if !logical.isEmpty { result.append(try split(logical, line: startLine)) }
        return result
    }

    private static func endsWithOddBackslashes(_ line: Substring) -> Bool {
        line.reversed().prefix { $0 == "\\" }.count % 2 == 1
    }

    private static func split(_ line: String, line number: Int) throws -> (key: String, value: String, line: Int) {
        var key = ""
        var index = line.startIndex
        var escaped = false
        while index < line.endIndex {
            let character = line[index]
            if !escaped && (character == "=" || character == ":" || character == " " || character == "\t") { break }
            key.append(character)
            escaped = !escaped && character == "\\"
            index = line.index(after: index)
        }
        var rest = line[index...].drop { $0 == " " || $0 == "\t" }
        if let first = rest.first, first == "=" || first == ":" { rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" } }
        return (try unescape(key, line: number), try unescape(String(rest), line: number), number)
    }

    private static func unescape(_ text: String, line: Int) throws -> String {
        guard text.contains("\\") else { return text }
        var output = ""
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            guard character == "\\" else { output.append(character); continue }
            guard let next = iterator.next() else { break }
            switch next {
            case "t": output.append("\t")
            case "n": output.append("\n")
            case "r": output.append("\r")
            case "f": output.append("\u{0C}")
            case "u":
                var hex = ""
                for _ in 0..<4 { if let digit = iterator.next() { hex.append(digit) } }
                guard hex.count == 4, let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) else {
                    throw ParseError(line: line, message: "bad \\u escape '\\u\(hex)'")
                }
                output.unicodeScalars.append(scalar)
            default: output.append(next)
            }
        }
        return output
    }
}
