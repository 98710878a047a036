import Foundation
import RillClient
import Yams

/// One run of a workload file: the whole file, or one cell of its `matrix:`.
public struct WorkloadCell: Sendable, Equatable {
    /// `name=value` pairs of the matrix cell (empty without a matrix), in the matrix's order.
    public var parameters: [(name: String, value: String)]
    public var workload: Workload

    /// A short label for tables and directories: `batchSize=16384 lingerMs=0`, or the name.
    public var label: String {
        parameters.isEmpty ? workload.name : parameters.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
    }

    public static func == (lhs: WorkloadCell, rhs: WorkloadCell) -> Bool {
        lhs.workload == rhs.workload && lhs.parameters.map(\.name) == rhs.parameters.map(\.name)
            && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
    }
}

/// Reads workload files: YAML with OMB's fields and Rill's, `--set key=value` overrides and a
/// `matrix:` that expands into cells. Unknown or malformed fields are errors that name the file,
/// line, field and reason. Pure apart from reading `payloadFile` (through `readFile`).
public struct WorkloadParser {
    /// The most cells a matrix may expand into.
    public static let maximumMatrixCells = 256

    /// Reads a file's bytes (injected so tests need no files).
    public var readFile: (String) throws -> [UInt8]

    public init(readFile: @escaping (String) throws -> [UInt8] = { path in
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }) {
        self.readFile = readFile
    }

    /// Parses `text` (from `file`), applies `overrides` (`key=value`, later ones win) and
    /// expands the matrix.
    public func parse(_ text: String, file: String, overrides: [String] = []) throws(WorkloadError) -> [WorkloadCell] {
        var root = try Self.compose(text, source: file)
        var origins: [String: String] = [:]
        for override in overrides {
            let (path, value) = try Self.splitOverride(override)
            try Self.set(path: path, to: value, in: &root, source: "--set \(override)")
            origins[path.joined(separator: ".")] = "--set \(override)"
        }
        let matrix = try Self.takeMatrix(from: &root, file: file, origins: origins)
        var cells: [WorkloadCell] = []
        for assignment in matrix.cells() {
            var cellRoot = root
            var cellOrigins = origins
            for (path, value) in assignment {
                try Self.set(path: path, to: value, in: &cellRoot, source: file)
                cellOrigins[path.joined(separator: ".")] = "\(file) (matrix \(path.joined(separator: ".")))"
            }
            let reader = NodeReader(file: file, origins: cellOrigins, directory: (file as NSString).deletingLastPathComponent, readFile: readFile)
            let workload = try reader.workload(from: cellRoot)
            cells.append(WorkloadCell(parameters: assignment.map { ($0.path.joined(separator: "."), $0.value.scalarText) }, workload: workload))
        }
        return cells
    }

    static func compose(_ text: String, source: String) throws(WorkloadError) -> Node.Mapping {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw WorkloadError(source: source, line: Self.line(of: error), field: "", reason: "not valid YAML: \(Self.describe(error))")
        } catch {
            throw WorkloadError(source: source, field: "", reason: "not valid YAML: \(error)")
        }
        guard let node else { throw WorkloadError(source: source, field: "", reason: "the file is empty; a workload needs at least a name") }
        guard case .mapping(let mapping) = node else {
            throw WorkloadError(source: source, line: node.mark?.line, field: "", reason: "a workload must be a mapping of fields (name: …, topics: …)")
        }
        return mapping
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(error)"
        }
    }

    /// `key=value` → the field path and the value as a YAML node (so `[1, 2]` is a list).
    static func splitOverride(_ text: String) throws(WorkloadError) -> ([String], Node) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw WorkloadError(source: "--set \(text)", field: "", reason: "must be key=value, e.g. --set producerRate=50000")
        }
        let key = String(text[..<equals])
        let valueText = String(text[text.index(after: equals)...])
        let value = (try? Yams.compose(yaml: valueText)).flatMap { $0 } ?? Node(valueText)
        return (NodeReader.path(of: key), value)
    }

    /// Sets `path` (top-level field, then nested keys) to `value`, creating mappings on the way.
    static func set(path: [String], to value: Node, in mapping: inout Node.Mapping, source: String) throws(WorkloadError) {
        guard let first = path.first else { return }
        if path.count == 1 {
            mapping[first] = value
            return
        }
        var child: Node.Mapping
        switch mapping[first] {
        case .mapping(let existing)?: child = existing
        case nil: child = Node.Mapping([])
        // `keyDistribution: zipf` set deeper: turn the short form into `{type: zipf}`.
        case .scalar(let scalar)? where first == "keyDistribution" || first == "target": child = Node.Mapping([(Node("type"), Node(scalar.string))])
        default:
            throw WorkloadError(source: source, field: path.joined(separator: "."), reason: "\(first) is not a mapping, so it has no field \(path[1])")
        }
        try set(path: Array(path.dropFirst()), to: value, in: &child, source: source)
        mapping[first] = .mapping(child)
    }

    /// Removes `matrix:` from the root and reads its axes.
    static func takeMatrix(from root: inout Node.Mapping, file: String, origins: [String: String]) throws(WorkloadError) -> WorkloadMatrix {
        guard let node = root["matrix"] else { return WorkloadMatrix(axes: []) }
        root["matrix"] = nil
        let source = origins["matrix"] ?? file
        guard case .mapping(let mapping) = node else {
            throw WorkloadError(source: source, line: node.mark?.line, field: "matrix", reason: "must map field names to lists of values, e.g. lingerMs: [0, 5]")
        }
        var axes: [WorkloadMatrix.Axis] = []
        for (key, values) in mapping {
            let name = key.string ?? ""
            let path = NodeReader.path(of: name)
            guard let field = path.first, NodeReader.fieldNames.contains(field), field != "matrix", field != "name" else {
                throw WorkloadError(source: source, line: key.mark?.line, field: "matrix.\(name)", reason: "is not a workload field that a matrix can vary\(NodeReader.suggestion(for: name))")
            }
            guard case .sequence(let sequence) = values, !sequence.isEmpty else {
                throw WorkloadError(source: source, line: values.mark?.line, field: "matrix.\(name)", reason: "must be a non-empty list of values")
            }
            axes.append(.init(path: path, values: Array(sequence)))
        }
        let matrix = WorkloadMatrix(axes: axes)
        guard matrix.cellCount <= maximumMatrixCells else {
            throw WorkloadError(source: source, line: node.mark?.line, field: "matrix", reason: "expands into \(matrix.cellCount) cells; at most \(maximumMatrixCells)")
        }
        return matrix
    }
}

/// A `matrix:` block: axes (a field and its values) whose cartesian product gives the cells, the
/// first axis varying slowest.
public struct WorkloadMatrix {
    struct Axis {
        var path: [String]
        var values: [Node]
    }

    var axes: [Axis]

    var cellCount: Int { axes.reduce(1) { $0 * $1.values.count } }

    /// Every cell's assignments, in order; one empty cell without axes.
    func cells() -> [[(path: [String], value: Node)]] {
        var result: [[(path: [String], value: Node)]] = [[]]
        for axis in axes {
            result = result.flatMap { prefix in axis.values.map { prefix + [(axis.path, $0)] } }
        }
        return result
    }
}

extension Node {
    /// A scalar's text, or the compact YAML of a collection.
    var scalarText: String {
        switch self {
        case .scalar(let scalar): scalar.string
        case .sequence(let sequence): "[" + sequence.map(\.scalarText).joined(separator: ",") + "]"
        case .mapping(let mapping): "{" + mapping.map { "\($0.key.scalarText): \($0.value.scalarText)" }.joined(separator: ", ") + "}"
        case .alias: "*alias"
        }
    }
}
