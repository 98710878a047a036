#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The real file system, through POSIX calls (pread/pwrite/fdatasync).
/// Stateless, so one instance serves every thread.
public final class POSIXFileSystem: FileSystem, Sendable {
    public init() {}

    public func createDirectory(at path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw StorageError(.io, "cannot create directory: \(errorText())", path: current, errno: errno)
            }
        }
    }

    public func contentsOfDirectory(at path: String) throws -> [String] {
        guard let directory = opendir(path) else {
            let code = errno
            throw StorageError(code == ENOENT ? .notFound : .io, "cannot list directory: \(errorText(code))", path: path, errno: code)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func fileExists(at path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public func openFile(at path: String, create: Bool) throws -> any StorageFile {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            throw StorageError(code == ENOENT ? .notFound : .io, "cannot open: \(errorText(code))", path: path, errno: code)
        }
        return POSIXFile(path: path, descriptor: descriptor)
    }

    public func removeFile(at path: String) throws {
        if unlink(path) != 0 && errno != ENOENT {
            throw StorageError(.io, "cannot remove: \(errorText())", path: path, errno: errno)
        }
    }

    public func removeDirectory(at path: String) throws {
        let names: [String]
        do { names = try contentsOfDirectory(at: path) } catch let error as StorageError where error.code == .notFound { return }
        for name in names {
            let child = FilePath.join(path, name)
            var status = stat()
            if lstat(child, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR {
                try removeDirectory(at: child)
            } else {
                try removeFile(at: child)
            }
        }
        if rmdir(path) != 0 && errno != ENOENT {
            throw StorageError(.io, "cannot remove directory: \(errorText())", path: path, errno: errno)
        }
    }

    public func rename(from source: String, to destination: String) throws {
        if Glibc.rename(source, destination) != 0 {
            throw StorageError(.io, "cannot rename to \(destination): \(errorText())", path: source, errno: errno)
        }
    }

    public func syncDirectory(at path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StorageError(.io, "cannot open directory: \(errorText())", path: path, errno: errno) }
        defer { close(descriptor) }
        if fsync(descriptor) != 0 { throw StorageError(.io, "cannot sync directory: \(errorText())", path: path, errno: errno) }
    }
}

/// A POSIX file descriptor. Closed when the last reference goes away, so a file that is removed
/// while a reader (or a pending sendfile) still holds it stays readable until then.
public final class POSIXFile: StorageFile {
    public let path: String
    private let fd: Int32

    init(path: String, descriptor: Int32) {
        self.path = path
        self.fd = descriptor
    }

    deinit { close(fd) }

    public var descriptor: Int32? { fd }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var total = 0
        while total < buffer.count {
            let count = pread(fd, buffer.baseAddress! + total, buffer.count - total, off_t(offset) + off_t(total))
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageError(.io, "read failed: \(errorText())", path: path, position: offset, errno: errno)
            }
            if count == 0 { break }
            total += count
        }
        return total
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var total = 0
        while total < bytes.count {
            let count = pwrite(fd, bytes.baseAddress! + total, bytes.count - total, off_t(offset) + off_t(total))
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageError(.io, "write failed: \(errorText())", path: path, position: offset + Int64(total), errno: errno)
            }
            total += count
        }
    }

    public func write(_ parts: [UnsafeRawBufferPointer], at offset: Int64) throws {
        var vectors = parts.filter { $0.count > 0 }.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        var position = offset
        var first = 0
        while first < vectors.count {
            let count = vectors[first...].withUnsafeBufferPointer { pwritev(fd, $0.baseAddress, Int32(min($0.count, 1024)), off_t(position)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageError(.io, "write failed: \(errorText())", path: path, position: position, errno: errno)
            }
            position += Int64(count)
            // Skip what was written; a short write leaves the rest of a part for the next round.
            var remaining = count
            while first < vectors.count && remaining >= vectors[first].iov_len {
                remaining -= vectors[first].iov_len
                first += 1
            }
            if remaining > 0 {
                vectors[first].iov_base = vectors[first].iov_base + remaining
                vectors[first].iov_len -= remaining
            }
        }
    }

    public func size() throws -> Int64 {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw StorageError(.io, "stat failed: \(errorText())", path: path, errno: errno) }
        return Int64(status.st_size)
    }

    public func truncate(to size: Int64) throws {
        guard ftruncate(fd, off_t(size)) == 0 else {
            throw StorageError(.io, "truncate failed: \(errorText())", path: path, position: size, errno: errno)
        }
    }

    public func sync() throws {
        guard fdatasync(fd) == 0 else { throw StorageError(.io, "fdatasync failed: \(errorText())", path: path, errno: errno) }
    }
}

func errorText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
