/// A parsed JSON value, as one history line holds it.
///
/// Objects keep their members in the order of the text (a poll lists partitions in the order
/// the consumer saw them); integers that fit in `Int64` stay integers, so offsets and times are
/// never rounded through `Double`.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// A number with a fraction or an exponent, or an integer too large for `Int64`.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON object: its members in text order. Lookup is linear, which is faster than hashing for
/// the handful of keys an event has; `JSONParser` rejects duplicate keys, so a key names at
/// most one member.
struct JSONObject: Equatable, Sendable {
    var members: [Member]

    struct Member: Equatable, Sendable {
        var key: String
        var value: JSONValue
        init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    init(_ members: [Member] = []) { self.members = members }

    /// The value of `key`, or nil when the object has no such member. O(members).
    subscript(key: String) -> JSONValue? {
        for member in members where member.key == key { return member.value }
        return nil
    }
}
