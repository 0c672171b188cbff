#if canImport(Glibc)
import Glibc
#endif
import CHDF5
@testable import LSTMCore

/// A small wrapper over the HDF5 C library (libhdf5, the format's reference implementation),
/// for the tests only: the oracle that the library's own reader (`HDF5Reader`) and writer
/// (`HDF5Encoder`) are held against. The library itself never links libhdf5. Every handle is
/// closed on every path. libhdf5 is not thread-safe, so all its work runs inside `HDF5.locked`,
/// under one process-wide lock.
enum HDF5 {
    private static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(m, &attr)
        pthread_mutexattr_destroy(&attr)
        return m
    }()

    private static let initialized: Bool = {
        H5open()
        lstm_h5_silence()
        return true
    }()

    /// Runs `body` holding the HDF5 lock.
    static func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        _ = initialized
        return try body()
    }
}

/// An open HDF5 object (file, group, dataset, ...), closed when released.
final class H5Object {
    let id: hid_t
    /// Where it is, for messages: "file.h5:/layers/lstm".
    let location: String
    private let closer: (hid_t) -> herr_t

    init(id: hid_t, location: String, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.location = location
        self.closer = closer
    }

    deinit { _ = closer(id) }
}

/// A file or group: what holds named members.
struct H5Group {
    let object: H5Object
    var id: hid_t { object.id }
    var location: String { object.location }

    // MARK: Files

    /// Opens a file for reading: for the tests only (see the type's comment), on trusted files.
    static func openFile(_ path: String) throws -> H5Group {
        if access(path, R_OK) != 0 {
            throw LSTMError.io("cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        guard H5Fis_hdf5(path) > 0 else {
            throw LSTMError.format("'\(path)' is not an HDF5 file (or it is damaged)")
        }
        let id = H5Fopen(path, lstm_h5f_acc_rdonly(), lstm_h5p_default())
        guard id >= 0 else { throw LSTMError.format("'\(path)': HDF5 cannot open the file (damaged or truncated)") }
        return H5Group(object: H5Object(id: id, location: path + ":", closer: H5Fclose))
    }

    // MARK: Members

    func path(_ name: String) -> String {
        location.hasSuffix(":") ? location + "/" + name : location + "/" + name
    }

    /// Whether `name` (one level, or a/b/c) exists here.
    func has(_ name: String) -> Bool {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            guard H5Lexists(id, prefix, lstm_h5p_default()) > 0 else { return false }
        }
        return true
    }

    private func objectType(_ name: String) -> H5I_type_t? {
        guard has(name) else { return nil }
        let o = H5Oopen(id, name, lstm_h5p_default())
        guard o >= 0 else { return nil }
        defer { H5Oclose(o) }
        return H5Iget_type(o)
    }

    func isGroup(_ name: String) -> Bool { objectType(name) == H5I_GROUP }
    func isDataset(_ name: String) -> Bool { objectType(name) == H5I_DATASET }

    func group(_ name: String) throws -> H5Group {
        guard isGroup(name) else { throw LSTMError.format("\(path(name)): group not found") }
        let g = H5Gopen2(id, name, lstm_h5p_default())
        guard g >= 0 else { throw LSTMError.format("\(path(name)): cannot open the group") }
        return H5Group(object: H5Object(id: g, location: path(name), closer: H5Gclose))
    }

    /// Names of the members, in HDF5's name order.
    func memberNames() throws -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(id, &info) >= 0 else { throw LSTMError.format("\(location): cannot list the group") }
        guard info.nlinks < 1 << 20 else { throw LSTMError.format("\(location): absurd member count \(info.nlinks)") }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let n = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, lstm_h5p_default())
            guard n >= 0, n < 1 << 16 else { throw LSTMError.format("\(location): cannot read member \(i)'s name") }
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, Int(n) + 1, lstm_h5p_default())
            names.append(String(cString: buf))
        }
        return names
    }

    // MARK: Datasets

    /// A float dataset (float32 or float64, converted to float32), with its shape.
    func readFloats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        try withDataset(name) { d, where_ in try readFloats(d, where_) }
    }

    /// Opens dataset `name`, hands it to `body` with its location for messages, closes it.
    private func withDataset<R>(_ name: String, _ body: (hid_t, String) throws -> R) throws -> R {
        let where_ = path(name)
        guard isDataset(name) else { throw LSTMError.format("\(where_): dataset not found") }
        let d = H5Dopen2(id, name, lstm_h5p_default())
        guard d >= 0 else { throw LSTMError.format("\(where_): cannot open the dataset") }
        defer { H5Dclose(d) }
        return try body(d, where_)
    }

    private func readFloats(_ d: hid_t, _ where_: String) throws -> (shape: [Int], values: [Float]) {
        let t = H5Dget_type(d)
        guard t >= 0 else { throw LSTMError.format("\(where_): cannot read the dataset's type") }
        defer { H5Tclose(t) }
        let cls = H5Tget_class(t), size = H5Tget_size(t)
        guard cls == H5T_FLOAT, size == 4 || size == 8 else {
            throw LSTMError.format("\(where_): expected float32 or float64 values, found HDF5 type class \(cls.rawValue) of \(size) bytes")
        }
        let shape = try dims(d, where_)
        let count = try checkedProduct(shape, where_)
        var values = [Float](repeating: 0, count: count)
        if count > 0 {
            let status = values.withUnsafeMutableBytes {
                H5Dread(d, lstm_h5t_native_float(), lstm_h5s_all(), lstm_h5s_all(), lstm_h5p_default(), $0.baseAddress)
            }
            guard status >= 0 else { throw LSTMError.format("\(where_): cannot read the values (damaged file?)") }
        }
        return (shape, values)
    }

    /// A scalar integer dataset (Keras's optimizer `iterations`).
    func readInt(_ name: String) throws -> Int64 {
        try withDataset(name) { d, where_ in
            guard try dims(d, where_).reduce(1, *) == 1 else { throw LSTMError.format("\(where_): expected one value") }
            var v: Int64 = 0
            guard H5Dread(d, lstm_h5t_native_int64(), lstm_h5s_all(), lstm_h5s_all(), lstm_h5p_default(), &v) >= 0 else {
                throw LSTMError.format("\(where_): cannot read the value")
            }
            return v
        }
    }

    private func dims(_ d: hid_t, _ where_: String) throws -> [Int] {
        let space = H5Dget_space(d)
        guard space >= 0 else { throw LSTMError.format("\(where_): cannot read the dataset's shape") }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, rank <= 8 else { throw LSTMError.format("\(where_): unsupported rank \(rank)") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else {
            throw LSTMError.format("\(where_): cannot read the dataset's shape")
        }
        return try dims.map {
            guard $0 <= hsize_t(1 << 40) else { throw LSTMError.format("\(where_): absurd dimension \($0)") }
            return Int($0)
        }
    }

    // MARK: String attributes

    /// Names of the attributes, in HDF5's name order.
    func attributeNames() throws -> [String] {
        var names: [String] = []
        while names.count < 1 << 16 {
            let i = hsize_t(names.count)
            let n = H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, lstm_h5p_default())
            if n < 0 { break }
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            _ = H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, Int(n) + 1, lstm_h5p_default())
            names.append(String(cString: buf))
        }
        return names
    }

    /// The rank of attribute `name`'s dataspace (0: a scalar); nil if absent.
    func attributeRank(_ name: String) -> Int? {
        guard H5Aexists(id, name) > 0 else { return nil }
        let a = H5Aopen(id, name, lstm_h5p_default())
        guard a >= 0 else { return nil }
        defer { H5Aclose(a) }
        let space = H5Aget_space(a)
        guard space >= 0 else { return nil }
        defer { H5Sclose(space) }
        return Int(H5Sget_simple_extent_ndims(space))
    }

    /// A string attribute, scalar or array, stored variable-length (UTF-8 or ASCII) or
    /// fixed-length (as older Keras wrote them). nil if absent.
    func stringsAttribute(_ name: String) throws -> [String]? {
        guard H5Aexists(id, name) > 0 else { return nil }
        let where_ = "\(location) attribute '\(name)'"
        let a = H5Aopen(id, name, lstm_h5p_default())
        guard a >= 0 else { throw LSTMError.format("\(where_): cannot open") }
        defer { H5Aclose(a) }
        let t = H5Aget_type(a)
        guard t >= 0 else { throw LSTMError.format("\(where_): cannot read its type") }
        defer { H5Tclose(t) }
        let space = H5Aget_space(a)
        guard space >= 0 else { throw LSTMError.format("\(where_): cannot read its shape") }
        defer { H5Sclose(space) }
        let n = H5Sget_simple_extent_npoints(space)
        guard n >= 0, n < 1 << 20 else { throw LSTMError.format("\(where_): absurd size \(n)") }
        let count = Int(n)
        // h5py writes an empty list (an InputLayer's weight_names) as an empty float array.
        if count == 0 { return [] }
        guard H5Tget_class(t) == H5T_STRING else { throw LSTMError.format("\(where_): not a string") }
        let mem = H5Tcopy(lstm_h5t_c_s1())
        defer { H5Tclose(mem) }
        H5Tset_cset(mem, H5Tget_cset(t))
        if H5Tis_variable_str(t) > 0 {
            H5Tset_size(mem, lstm_h5t_variable())
            var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(a, mem, &ptrs) >= 0 else { throw LSTMError.format("\(where_): cannot read") }
            defer { H5Dvlen_reclaim(mem, space, lstm_h5p_default(), &ptrs) }
            return ptrs.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(t)
        guard size > 0, size < 1 << 24, (try? checkedProduct([count, size], where_)) != nil else {
            throw LSTMError.format("\(where_): absurd string size \(size)")
        }
        H5Tset_size(mem, size)
        H5Tset_strpad(mem, H5Tget_strpad(t))
        var buf = [UInt8](repeating: 0, count: count * size)
        guard H5Aread(a, mem, &buf) >= 0 else { throw LSTMError.format("\(where_): cannot read") }
        return (0..<count).map { k in
            let bytes = buf[(k * size)..<((k + 1) * size)]
            let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
            var s = String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
    }
}
