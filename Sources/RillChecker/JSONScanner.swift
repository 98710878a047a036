/// Strict JSON (RFC 8259) over the bytes of one line, in two shapes: `JSONParser.parse` builds a
/// `JSONValue`, and `JSONScanner`'s primitives let a decoder that knows the shape it expects
/// (`HistoryLineDecoder`) read strings, integers, arrays and objects in place, with no tree and
/// no allocation beyond the strings and arrays it keeps.
///
/// Never crashes on bad input: every problem is a `JSONParser.Failure` with the byte column.
/// Limits: nesting deeper than `CheckerLimits.maximumJSONDepth` is rejected, strings must be
/// valid UTF-8 without raw control characters, objects must not repeat a key (`JSONParser`).
enum JSONParser {
    /// Why a line is not JSON (or not the JSON expected); `column` counts bytes from 1.
    struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        var message: String
        var column: Int
        var description: String { "\(message) at column \(column)" }
    }

    /// Parses exactly one JSON value filling `bytes` (surrounding whitespace allowed).
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> JSONValue {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        let value = try scanner.value(depth: 0)
        try scanner.expectEnd()
        return value
    }

    /// Parses a JSON text held in a `String` (tests and small inputs).
    static func parse(_ text: String) throws(Failure) -> JSONValue {
        var copy = text
        let result: Result<JSONValue, Failure> = copy.withUTF8 { bytes in
            do throws(Failure) { return .success(try parse(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// A cursor over one line's bytes. Primitives skip whitespace before what they read.
struct JSONScanner {
    typealias Failure = JSONParser.Failure

    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func failure(_ message: String, at position: Int? = nil) -> Failure {
        Failure(message: message, column: (position ?? self.position) + 1)
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, not consumed; nil at the end.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    /// Consumes `byte` (after whitespace) or fails with "expected <what>".
    mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws(Failure) {
        guard peek() == byte else { throw failure("expected \(what())\(foundDescription())") }
        position += 1
    }

    /// Only whitespace may remain.
    mutating func expectEnd() throws(Failure) {
        skipWhitespace()
        guard position == bytes.count else { throw failure("unexpected text after the JSON value") }
    }

    func foundDescription() -> String {
        guard position < bytes.count else { return ", found the end of the line" }
        switch bytes[position] {
        case UInt8(ascii: "{"): return ", found an object"
        case UInt8(ascii: "["): return ", found an array"
        case UInt8(ascii: "\""): return ", found a string"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return ", found a number"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return ", found a boolean"
        case UInt8(ascii: "n"): return ", found null"
        default: return ", found '\(Self.printable(bytes[position]))'"
        }
    }

    // MARK: Arrays and objects, element by element

    /// Consumes `[`; true when the array is empty (its `]` consumed too).
    mutating func beginArray(_ what: @autoclosure () -> String) throws(Failure) -> Bool {
        try expect(UInt8(ascii: "["), what())
        if peek() == UInt8(ascii: "]") {
            position += 1
            return true
        }
        return false
    }

    /// After an element: consumes `,` and returns true, or `]` and returns false.
    mutating func nextElement() throws(Failure) -> Bool {
        switch peek() {
        case UInt8(ascii: ","):
            position += 1
            return true
        case UInt8(ascii: "]"):
            position += 1
            return false
        default:
            throw failure("expected ',' or ']' in an array\(foundDescription())")
        }
    }

    /// Consumes `{`; true when the object is empty (its `}` consumed too).
    mutating func beginObject(_ what: @autoclosure () -> String) throws(Failure) -> Bool {
        try expect(UInt8(ascii: "{"), what())
        if peek() == UInt8(ascii: "}") {
            position += 1
            return true
        }
        return false
    }

    /// A member's key and its `:`.
    mutating func key() throws(Failure) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string key in an object\(foundDescription())") }
        let key = try string()
        try expect(UInt8(ascii: ":"), "':' after an object key")
        return key
    }

    /// After a member: consumes `,` and returns true, or `}` and returns false.
    mutating func nextMember() throws(Failure) -> Bool {
        switch peek() {
        case UInt8(ascii: ","):
            position += 1
            return true
        case UInt8(ascii: "}"):
            position += 1
            return false
        default:
            throw failure("expected ',' or '}' in an object\(foundDescription())")
        }
    }

    /// If the next token is a string equal to one of `candidates` (compared as bytes, so only
    /// strings without escapes match), consumes it and returns the candidate's index; otherwise
    /// consumes nothing and returns nil. Saves building a `String` for keys and names the
    /// decoder knows.
    mutating func match(_ candidates: [[UInt8]]) -> Int? {
        guard peek() == UInt8(ascii: "\"") else { return nil }
        let start = position + 1
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        let length = end - start
        for (index, candidate) in candidates.enumerated() where candidate.count == length {
            var isEqual = true
            for offset in 0..<length where bytes[start + offset] != candidate[offset] {
                isEqual = false
                break
            }
            if isEqual {
                position = end + 1
                return index
            }
        }
        return nil
    }

    /// The common shape of a read record, `[42, "v17"]` (a non-negative integer of at most 18
    /// digits and an ASCII string without escapes), read in one tight pass. Anything else —
    /// including malformed input — returns nil with nothing consumed, for the general path to
    /// read or reject.
    mutating func simpleRecord() -> (offset: Int64, value: String)? {
        guard peek() == UInt8(ascii: "[") else { return nil }
        var cursor = position + 1
        while cursor < bytes.count, bytes[cursor] == 0x20 { cursor += 1 }
        let digitsStart = cursor
        var offset: Int64 = 0
        while cursor < bytes.count, Self.isDigit(bytes[cursor]), cursor - digitsStart < 18 {
            offset = offset * 10 + Int64(bytes[cursor] - UInt8(ascii: "0"))
            cursor += 1
        }
        let digitCount = cursor - digitsStart
        guard digitCount > 0, digitCount == 1 || bytes[digitsStart] != UInt8(ascii: "0"), cursor < bytes.count, bytes[cursor] == UInt8(ascii: ",") else {
            return nil
        }
        cursor += 1
        while cursor < bytes.count, bytes[cursor] == 0x20 { cursor += 1 }
        guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "\"") else { return nil }
        cursor += 1
        let valueStart = cursor
        while cursor < bytes.count {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return nil }
            cursor += 1
        }
        guard cursor < bytes.count else { return nil }
        let valueEnd = cursor
        cursor += 1
        while cursor < bytes.count, bytes[cursor] == 0x20 { cursor += 1 }
        guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "]") else { return nil }
        position = cursor + 1
        return (offset, String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self))
    }

    /// Consumes `null` if it comes next.
    mutating func skipNull() -> Bool {
        guard peek() == UInt8(ascii: "n"), bytes.count - position >= 4,
            bytes[position + 1] == UInt8(ascii: "u"), bytes[position + 2] == UInt8(ascii: "l"), bytes[position + 3] == UInt8(ascii: "l")
        else { return false }
        position += 4
        return true
    }

    // MARK: Scalars

    /// A string; the ASCII fast path makes a small string without allocating.
    mutating func string() throws(Failure) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string\(foundDescription())") }
        let quote = position
        position += 1
        let start = position
        var isASCII = true
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                if isASCII { return String(decoding: slice, as: UTF8.self) }
                guard let string = String(validating: slice, as: UTF8.self) else { throw failure("invalid UTF-8 in a string", at: start) }
                return string
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character in a string") }
            if byte >= 0x80 { isASCII = false }
            position += 1
        }
        guard position < bytes.count else { throw failure("unterminated string", at: quote) }
        var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
        try escapedRemainder(into: &scratch, quote: quote)
        guard let string = String(validating: scratch, as: UTF8.self) else { throw failure("invalid UTF-8 in a string", at: start) }
        return string
    }

    private mutating func escapedRemainder(into scratch: inout [UInt8], quote: Int) throws(Failure) {
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return
            }
            if byte < 0x20 { throw failure("control character in a string") }
            position += 1
            guard byte == UInt8(ascii: "\\") else {
                scratch.append(byte)
                continue
            }
            guard position < bytes.count else { break }
            let escaped = bytes[position]
            position += 1
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escaped)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"): try unicodeEscape(into: &scratch)
            default: throw failure("invalid escape '\\\(Self.printable(escaped))'", at: position - 1)
            }
        }
        throw failure("unterminated string", at: quote)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - position >= 4 else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("invalid hex digit in a \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private mutating func unicodeEscape(into scratch: inout [UInt8]) throws(Failure) {
        var scalarValue = try hex4()
        if (0xD800...0xDBFF).contains(scalarValue) {
            guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw failure("unpaired surrogate in a \\u escape")
            }
            position += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in a \\u escape") }
            scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw failure("unpaired surrogate in a \\u escape") }
        scratch.append(contentsOf: String(Character(scalar)).utf8)
    }

    /// A JSON number: `.integer` when it has no fraction or exponent and fits `Int64`.
    mutating func number() throws(Failure) -> JSONValue {
        skipWhitespace()
        let start = position
        var isNegative = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
            isNegative = true
            position += 1
        }
        guard position < bytes.count, Self.isDigit(bytes[position]) else { throw failure("invalid number") }
        if bytes[position] == UInt8(ascii: "0"), position + 1 < bytes.count, Self.isDigit(bytes[position + 1]) {
            throw failure("leading zero in a number")
        }
        // The magnitude accumulates as a negative number so that Int64.min fits.
        var magnitude: Int64 = 0
        var overflowed = false
        while position < bytes.count, Self.isDigit(bytes[position]) {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.subtractingReportingOverflow(Int64(bytes[position] - UInt8(ascii: "0")))
            if overflow1 || overflow2 { overflowed = true } else { magnitude = next }
            position += 1
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            try digits()
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            try digits()
        }
        if isInteger, !overflowed {
            if isNegative { return .integer(magnitude) }
            if magnitude != .min { return .integer(-magnitude) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let double = Double(text) else { throw failure("invalid number", at: start) }
        return .number(double)
    }

    private mutating func digits() throws(Failure) {
        let start = position
        while position < bytes.count, Self.isDigit(bytes[position]) { position += 1 }
        if position == start { throw failure("invalid number") }
    }

    /// An integer; `what` names it in the failure ("\"index\" must be an integer, found …").
    mutating func integer(_ what: @autoclosure () -> String) throws(Failure) -> Int64 {
        guard let byte = peek(), byte == UInt8(ascii: "-") || Self.isDigit(byte) else {
            throw failure("\(what()) must be an integer\(foundDescription())")
        }
        let start = position
        guard case .integer(let value) = try number() else { throw failure("\(what()) must be an integer", at: start) }
        return value
    }

    /// A non-negative integer.
    mutating func offset(_ what: @autoclosure () -> String) throws(Failure) -> Int64 {
        let start = position
        let value = try integer(what())
        guard value >= 0 else { throw failure("\(what()) must not be negative, found \(value)", at: start) }
        return value
    }

    // MARK: Whole values

    mutating func literal(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw failure("invalid literal") }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for index in 0..<count where bytes[position + index] != expected[index] { throw failure("invalid literal") }
        position += count
    }

    /// Parses any value into a tree, rejecting duplicate keys.
    mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard let byte = peek() else { throw failure("unexpected end of line, expected a value") }
        switch byte {
        case UInt8(ascii: "{"):
            guard depth < CheckerLimits.maximumJSONDepth else { throw failure("nesting deeper than \(CheckerLimits.maximumJSONDepth)") }
            var members: [JSONObject.Member] = []
            if try beginObject("an object") { return .object(JSONObject(members)) }
            repeat {
                skipWhitespace()
                let keyPosition = position
                let key = try self.key()
                let element = try value(depth: depth + 1)
                if members.contains(where: { $0.key == key }) { throw failure("duplicate key \"\(key)\" in an object", at: keyPosition) }
                members.append(JSONObject.Member(key: key, value: element))
            } while try nextMember()
            return .object(JSONObject(members))
        case UInt8(ascii: "["):
            guard depth < CheckerLimits.maximumJSONDepth else { throw failure("nesting deeper than \(CheckerLimits.maximumJSONDepth)") }
            var elements: [JSONValue] = []
            if try beginArray("an array") { return .array(elements) }
            repeat { elements.append(try value(depth: depth + 1)) } while try nextElement()
            return .array(elements)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected character '\(Self.printable(byte))', expected a value")
        }
    }

    /// Skips any value, validating it as `value(depth:)` would (except duplicate keys), without
    /// building it.
    mutating func skipValue(depth: Int) throws(Failure) {
        guard let byte = peek() else { throw failure("unexpected end of line, expected a value") }
        switch byte {
        case UInt8(ascii: "{"):
            guard depth < CheckerLimits.maximumJSONDepth else { throw failure("nesting deeper than \(CheckerLimits.maximumJSONDepth)") }
            if try beginObject("an object") { return }
            repeat {
                _ = try key()
                try skipValue(depth: depth + 1)
            } while try nextMember()
        case UInt8(ascii: "["):
            guard depth < CheckerLimits.maximumJSONDepth else { throw failure("nesting deeper than \(CheckerLimits.maximumJSONDepth)") }
            if try beginArray("an array") { return }
            repeat { try skipValue(depth: depth + 1) } while try nextElement()
        default:
            _ = try value(depth: depth)
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
