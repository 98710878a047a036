/// A strict JSON parser for one line of a history (RFC 8259), written for speed on millions of
/// short lines: it walks the bytes once, allocates only the arrays, objects and strings it
/// returns, and never crashes on bad input — every problem is a `JSONParser.Failure` with the
/// byte column where it was found.
///
/// Limits: nesting deeper than `CheckerLimits.maximumJSONDepth` is rejected, strings must be
/// valid UTF-8 without raw control characters, objects must not repeat a key.
public struct JSONParser {
    /// Why a line is not JSON; `column` counts bytes from 1.
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var column: Int
        public var description: String { "\(message) at column \(column)" }
    }

    /// Parses exactly one JSON value filling `bytes` (surrounding whitespace allowed).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected text after the JSON value") }
        return value
    }

    /// Parses a JSON text held in a `String` (tests and small inputs).
    public static func parse(_ text: String) throws(Failure) -> JSONValue {
        var copy = text
        let result: Result<JSONValue, Failure> = copy.withUTF8 { bytes in
            do throws(Failure) { return .success(try parse(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func failure(_ message: String) -> Failure { Failure(message: message, column: position + 1) }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(Failure) -> JSONValue {
        guard position < bytes.count else { throw failure("unexpected end of line, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character '\(Self.printable(bytes[position]))', expected a value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw failure("invalid literal") }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for index in 0..<count where bytes[position + index] != expected[index] {
            throw failure("invalid literal")
        }
        position += count
    }

    private mutating func parseArray(depth: Int) throws(Failure) -> [JSONValue] {
        guard depth <= CheckerLimits.maximumJSONDepth else { throw failure("nesting deeper than \(CheckerLimits.maximumJSONDepth)") }
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return elements
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of line inside an array") }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "]") { return elements }
            guard byte == UInt8(ascii: ",") else {
                position -= 1
                throw failure("expected ',' or ']' in an array")
            }
        }
    }

    private mutating func parseObject(depth: Int) throws(Failure) -> JSONObject {
        guard depth <= CheckerLimits.maximumJSONDepth else { throw failure("nesting deeper than \(CheckerLimits.maximumJSONDepth)") }
        position += 1  // {
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return JSONObject(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a string key in an object") }
            let keyColumn = position
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':' after an object key") }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if Self.contains(key, in: members) {
                throw Failure(message: "duplicate key \"\(key)\" in an object", column: keyColumn + 1)
            }
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of line inside an object") }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "}") { return JSONObject(members) }
            guard byte == UInt8(ascii: ",") else {
                position -= 1
                throw failure("expected ',' or '}' in an object")
            }
        }
    }

    /// Linear for small objects; objects with many keys (a poll of hundreds of partitions) are
    /// rare enough that the quadratic worst case stays small, and a `Set` would cost more for
    /// the common event of seven keys.
    private static func contains(_ key: String, in members: [JSONObject.Member]) -> Bool {
        for member in members where member.key == key { return true }
        return false
    }

    private mutating func parseString() throws(Failure) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes — the string is a slice of the line.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                return try Self.decodeUTF8(slice, column: start)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character in a string") }
            position += 1
        }
        guard position < bytes.count else { throw Failure(message: "unterminated string", column: start) }
        var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
        try parseEscapedRemainder(into: &scratch)
        return try scratch.withUnsafeBufferPointer { buffer throws(Failure) in try Self.decodeUTF8(buffer, column: start) }
    }

    private mutating func parseEscapedRemainder(into scratch: inout [UInt8]) throws(Failure) {
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return
            }
            if byte < 0x20 { throw failure("control character in a string") }
            if byte != UInt8(ascii: "\\") {
                scratch.append(byte)
                position += 1
                continue
            }
            position += 1
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
            case UInt8(ascii: "u"): try appendUnicodeEscape(into: &scratch)
            default:
                position -= 1
                throw failure("invalid escape '\\\(Self.printable(escaped))'")
            }
        }
        throw failure("unterminated string")
    }

    private mutating func readHex4() throws(Failure) -> UInt32 {
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

    private mutating func appendUnicodeEscape(into scratch: inout [UInt8]) throws(Failure) {
        var scalarValue = try readHex4()
        if (0xD800...0xDBFF).contains(scalarValue) {
            guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw failure("unpaired surrogate in a \\u escape")
            }
            position += 2
            let low = try readHex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in a \\u escape") }
            scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw failure("unpaired surrogate in a \\u escape") }
        scratch.append(contentsOf: String(Character(scalar)).utf8)
    }

    private static func decodeUTF8(_ bytes: UnsafeBufferPointer<UInt8>, column: Int) throws(Failure) -> String {
        // ASCII (every value and name a harness writes) needs no validation beyond the scan.
        var isASCII = true
        for byte in bytes where byte >= 0x80 {
            isASCII = false
            break
        }
        if isASCII { return String(decoding: bytes, as: UTF8.self) }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw Failure(message: "invalid UTF-8 in a string", column: column + 1)
        }
        return string
    }

    private mutating func parseNumber() throws(Failure) -> JSONValue {
        let start = position
        var isNegative = false
        if bytes[position] == UInt8(ascii: "-") {
            isNegative = true
            position += 1
        }
        guard position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) else {
            throw failure("invalid number")
        }
        if bytes[position] == UInt8(ascii: "0"), position + 1 < bytes.count,
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position + 1])
        {
            throw failure("leading zero in a number")
        }
        // Accumulate the magnitude as a negative number so Int64.min fits.
        var magnitude: Int64 = 0
        var overflowed = false
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            let digit = Int64(bytes[position] - UInt8(ascii: "0"))
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.subtractingReportingOverflow(digit)
            if overflow1 || overflow2 { overflowed = true } else { magnitude = next }
            position += 1
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            try skipDigits(required: true)
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            try skipDigits(required: true)
        }
        if isInteger, !overflowed {
            if isNegative { return .integer(magnitude) }
            if magnitude != Int64.min { return .integer(-magnitude) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let double = Double(text) else { throw Failure(message: "invalid number", column: start + 1) }
        return .number(double)
    }

    private mutating func skipDigits(required: Bool) throws(Failure) {
        let start = position
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
        if required, position == start { throw failure("invalid number") }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
