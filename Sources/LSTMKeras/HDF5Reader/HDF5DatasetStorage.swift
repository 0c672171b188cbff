import LSTMCore

/// A dataset's values as raw element bytes in row-major order, gathered from wherever its
/// layout keeps them. Every size is checked against the file before anything is allocated for
/// it: a dataset may only produce as many bytes as its stored data can account for.
struct HDF5DatasetStorage {
    /// The most bytes one dataset may produce (the library's largest weight arrays are far smaller).
    static let maxBytes = 1 << 32
    /// Deflate expands at most about 1032:1; a chunk claiming more than this from its stored
    /// bytes is damaged or hostile, and refused before it is inflated.
    static let maxInflation = 1100
    /// What a very short stream may add to that ratio (its header, checksum and final block).
    static let inflationSlack = 1 << 10

    let file: HDF5Bytes
    let dims: [Int]
    let elementSize: Int
    let layout: HDF5Layout
    let filters: [HDF5Filter]
    /// The dataset, for messages.
    let location: String

    var elementCount: Int { dims.reduce(1, *) }

    func read() throws -> [UInt8] {
        let (total, overflow) = elementCount.multipliedReportingOverflow(by: elementSize)
        guard !overflow, total <= HDF5DatasetStorage.maxBytes else {
            throw file.damaged("\(location) declares \(elementCount) values of \(elementSize) bytes")
        }
        if total == 0 { return [] }
        switch layout {
        case .compact(let offset, let size):
            guard size >= total else { throw file.damaged("\(location) stores \(size) bytes for \(total) bytes of values") }
            return Array(file.bytes[offset..<(offset + total)])
        case .contiguous(let address, let size):
            guard let address else {
                throw file.damaged("\(location) declares \(elementCount) values but none were ever written")
            }
            guard size >= total else { throw file.damaged("\(location) stores \(size) bytes for \(total) bytes of values") }
            return Array(try file.slice(address, total, "\(location)'s values"))
        case .chunked(let chunks):
            return try readChunked(chunks, total: total)
        }
    }

    // MARK: Chunks

    private func readChunked(_ layout: HDF5ChunkLayout, total: Int) throws -> [UInt8] {
        let chunkDims = layout.chunkDims
        guard chunkDims.count == dims.count else {
            throw file.damaged("\(location) has rank \(dims.count) but chunks of rank \(chunkDims.count)")
        }
        var chunkElements = 1
        for d in chunkDims {
            let (p, o) = chunkElements.multipliedReportingOverflow(by: d)
            guard !o, p <= HDF5DatasetStorage.maxBytes / elementSize else { throw file.damaged("\(location) has chunks of \(chunkDims)") }
            chunkElements = p
        }
        let chunkBytes = chunkElements * elementSize
        // The chunk grid: chunks per dimension, and chunks in all.
        let grid = zip(dims, chunkDims).map { ($0 + $1 - 1) / $1 }
        let (chunkCount, o) = grid.reduce((1, false)) { acc, g in
            let (p, of) = acc.0.multipliedReportingOverflow(by: g)
            return (p, acc.1 || of)
        }
        guard !o, chunkCount <= 1 << 24 else { throw file.damaged("\(location) has more than 2^24 chunks") }
        guard let address = layout.address else {
            throw file.damaged("\(location) declares \(elementCount) values but none were ever written")
        }
        let stored = try chunkList(layout.index, at: address, grid: grid, chunkDims: chunkDims, chunkCount: chunkCount,
                                   chunkBytes: chunkBytes)
        try checkChunksAccountFor(stored, chunkCount: chunkCount, chunkBytes: chunkBytes)
        var out = [UInt8](repeating: 0, count: total)
        var covered = Set<Int>()
        for chunk in stored {
            guard chunk.gridIndex.count == dims.count, zip(chunk.gridIndex, grid).allSatisfy({ $0 >= 0 && $0 < $1 }) else {
                throw file.damaged("\(location) has a chunk outside the dataset")
            }
            let linear = chunk.gridIndex.enumerated().reduce(0) { $0 * grid[$1.offset] + $1.element }
            guard covered.insert(linear).inserted else { throw file.damaged("\(location) stores one chunk twice") }
            let data = try decode(chunk, chunkBytes: chunkBytes)
            copy(data, chunkAt: chunk.gridIndex.enumerated().map { $0.element * chunkDims[$0.offset] },
                 chunkDims: chunkDims, into: &out)
        }
        return out
    }

    /// Refuses, before the values are allocated, a chunk list whose stored bytes cannot hold the
    /// dataset: every chunk must be listed, lie in the file without overlapping another, and be
    /// long enough to hold (or, deflated, to inflate to) one chunk's bytes. So a dataset never
    /// allocates more than its file's bytes allow, however large the shape it declares.
    private func checkChunksAccountFor(_ stored: [StoredChunk], chunkCount: Int, chunkBytes: Int) throws {
        // Unwritten chunks would read as the fill value; a weights file writes every chunk.
        guard stored.count == chunkCount else {
            throw file.damaged("\(location) stores \(stored.count) of its \(chunkCount) chunks")
        }
        var end = 0
        for chunk in stored.sorted(by: { $0.at < $1.at }) {
            guard chunk.size > 0 else { throw file.damaged("\(location) has an empty chunk") }
            try file.require(chunk.at, chunk.size, "a chunk of \(location)")
            guard chunk.at >= end else { throw file.damaged("\(location) has chunks that overlap in the file") }
            end = chunk.at + chunk.size
            guard chunkBytes <= mostDecodedBytes(chunk) else {
                throw file.damaged("a chunk of \(location) claims \(chunkBytes) bytes from \(chunk.size) stored")
            }
        }
    }

    /// The most bytes a chunk's stored bytes can decode to under the filters its mask applies.
    private func mostDecodedBytes(_ chunk: StoredChunk) -> Int {
        let deflated = filters.enumerated().contains { i, f in f.id == HDF5Filter.deflate && chunk.filterMask & (1 << i) == 0 }
        return deflated ? HDF5DatasetStorage.mostInflated(from: chunk.size) : chunk.size
    }

    /// The most bytes `count` deflated bytes may inflate to (maxInflation, plus a short stream's slack).
    static func mostInflated(from count: Int) -> Int {
        let (limit, o) = count.multipliedReportingOverflow(by: maxInflation)
        return o ? Int.max : limit + inflationSlack
    }

    private struct StoredChunk {
        var gridIndex: [Int]
        var at: Int
        var size: Int
        var filterMask: Int
    }

    /// The stored chunks as the index lists them.
    private func chunkList(_ index: HDF5ChunkLayout.Index, at: Int, grid: [Int], chunkDims: [Int], chunkCount: Int,
                           chunkBytes: Int) throws -> [StoredChunk] {
        func gridIndex(_ linear: Int) -> [Int] {
            var rest = linear
            var idx = [Int](repeating: 0, count: grid.count)
            for d in stride(from: grid.count - 1, through: 0, by: -1) {
                idx[d] = rest % grid[d]
                rest /= grid[d]
            }
            return idx
        }
        switch index {
        case .singleChunk(let filteredSize, let mask):
            guard chunkCount == 1 else { throw file.damaged("\(location) has a single-chunk index but \(chunkCount) chunks") }
            return [StoredChunk(gridIndex: [Int](repeating: 0, count: grid.count), at: at, size: filteredSize ?? chunkBytes,
                                filterMask: mask)]
        case .implicit:
            let (size, o) = chunkBytes.multipliedReportingOverflow(by: chunkCount)
            guard !o else { throw file.damaged("\(location)'s chunks overflow") }
            try file.require(at, size, "\(location)'s chunks")
            return (0..<chunkCount).map { StoredChunk(gridIndex: gridIndex($0), at: at + $0 * chunkBytes, size: chunkBytes, filterMask: 0) }
        case .btreeV1:
            let rank = grid.count
            let keySize = 8 + 8 * (rank + 1)
            return try HDF5BTree.v1Leaves(file, root: at, nodeType: 1, keySize: keySize).map { entry in
                var c = HDF5Cursor(file, at: entry.key.startIndex, limit: entry.key.endIndex)
                let size = try c.u32(), mask = try c.u32()
                var idx: [Int] = []
                for d in 0..<rank {
                    let offset = try c.uint(8)
                    let chunkDim = UInt64(chunkDims[d])
                    guard offset % chunkDim == 0, offset / chunkDim < UInt64(grid[d]) else {
                        throw file.damaged("\(location) has a chunk at an offset that is not on its grid")
                    }
                    idx.append(Int(offset / chunkDim))
                }
                return StoredChunk(gridIndex: idx, at: entry.child, size: size, filterMask: mask)
            }
        case .fixedArray:
            return try fixedArray(at: at, chunkCount: chunkCount).enumerated().compactMap { k, e in
                guard let address = e.address else { return nil }
                return StoredChunk(gridIndex: gridIndex(k), at: address, size: e.size ?? chunkBytes, filterMask: e.mask)
            }
        }
    }

    /// The elements of a fixed-array chunk index ("FAHD" and its data block "FADB", paged or not).
    private func fixedArray(at: Int, chunkCount: Int) throws -> [(address: Int?, size: Int?, mask: Int)] {
        var h = HDF5Cursor(file, at: at)
        try h.expectSignature("FAHD", "a chunk index")
        try h.skip(1)  // version
        let client = try h.u8(), elementSize = try h.u8(), pageBits = try h.u8()
        let count = try h.length("a chunk index's length")
        let dataBlock = try h.address("a chunk index's data block")
        try file.verifyChecksum(at, h.position, "a chunk index header")
        let filtered = client == 1
        // An element is a chunk's address, and for filtered chunks its stored size (1-8 bytes)
        // and filter mask.
        let sizeBytes = elementSize - file.offsetSize - 4
        guard client <= 1, count == chunkCount, pageBits < 32,
              filtered ? (1...8).contains(sizeBytes) : elementSize == file.offsetSize else {
            throw file.damaged("\(location)'s chunk index lists \(count) chunks of \(elementSize) bytes for \(chunkCount) chunks")
        }
        guard let dataBlock else { return [] }
        var d = HDF5Cursor(file, at: dataBlock)
        try d.expectSignature("FADB", "a chunk index data block")
        try d.skip(2 + file.offsetSize)  // version, client, header address
        let pageSize = 1 << pageBits
        let paged = count > pageSize
        let pages = (count + pageSize - 1) / pageSize
        if paged { try d.skip((pages + 7) / 8) }  // which pages are initialised
        // An unpaged block is one checksummed run; a paged one checksums its prefix, then each page.
        var elements: [(Int?, Int?, Int)] = []
        func element(_ c: inout HDF5Cursor) throws -> (Int?, Int?, Int) {
            let address = try c.address("a chunk's address")
            guard filtered else { return (address, nil, 0) }
            let size = try c.count(sizeBytes, "a chunk's size")
            return (address, size, try c.u32())
        }
        if !paged {
            for _ in 0..<count { elements.append(try element(&d)) }
            try file.verifyChecksum(dataBlock, d.position, "a chunk index data block")
            return elements
        }
        try file.verifyChecksum(dataBlock, d.position, "a chunk index data block")
        d.position += 4
        for page in 0..<pages {
            let start = d.position
            for _ in 0..<min(pageSize, count - page * pageSize) { elements.append(try element(&d)) }
            try file.verifyChecksum(start, d.position, "a chunk index page")
            d.position += 4
        }
        return elements
    }

    // MARK: Filters

    /// One chunk's bytes, the filters undone in reverse order (those its mask skips excepted).
    private func decode(_ chunk: StoredChunk, chunkBytes: Int) throws -> [UInt8] {
        var data = Array(try file.slice(chunk.at, chunk.size, "a chunk of \(location)"))
        for (i, filter) in filters.enumerated().reversed() where chunk.filterMask & (1 << i) == 0 {
            switch filter.id {
            case HDF5Filter.deflate:
                data = try inflate(data, expected: chunkBytes)
            case HDF5Filter.shuffle:
                data = unshuffle(data, elementSize: filter.parameters.first ?? elementSize)
            case HDF5Filter.fletcher32:
                guard data.count >= 4 else { throw file.damaged("a chunk of \(location) is too short for its checksum") }
                let n = data.count - 4
                let stored = UInt32(data[n]) | UInt32(data[n + 1]) << 8 | UInt32(data[n + 2]) << 16 | UInt32(data[n + 3]) << 24
                let sum = HDF5DatasetStorage.fletcher32(data, count: n)
                // HDF5 before 1.6.3 wrote the two 16-bit halves' bytes swapped; libhdf5 accepts both.
                let swapped = (sum & 0x00FF_00FF) << 8 | (sum & 0xFF00_FF00) >> 8
                guard stored == sum || stored == swapped else {
                    throw file.damaged("a chunk of \(location) fails its Fletcher-32 checksum")
                }
                data.removeLast(4)
            default:
                throw file.unsupported("the '\(filter.name)' filter (HDF5 filter \(filter.id)) on \(location)")
            }
        }
        guard data.count == chunkBytes else {
            throw file.damaged("a chunk of \(location) holds \(data.count) bytes, its shape needs \(chunkBytes)")
        }
        return data
    }

    /// Inflates a zlib stream into exactly `expected` bytes; more or less is damage.
    private func inflate(_ input: [UInt8], expected: Int) throws -> [UInt8] {
        guard expected <= HDF5DatasetStorage.mostInflated(from: input.count) else {
            throw file.damaged("a chunk of \(location) claims \(expected) bytes from \(input.count) compressed")
        }
        guard let out = try Inflate.exactly(input, size: expected, .zlib) else {
            throw file.damaged("a deflated chunk of \(location) does not inflate to its \(expected) bytes")
        }
        return out
    }

    /// HDF5's Fletcher-32: over 16-bit big-endian words (a last odd byte as the high half).
    static func fletcher32(_ data: [UInt8], count: Int) -> UInt32 {
        var sum1: UInt32 = 0, sum2: UInt32 = 0
        var i = 0
        func fold() {
            sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
            sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
        }
        var words = count / 2
        while words > 0 {
            // 360 words keep both sums below 2^32 before folding.
            let run = min(words, 360)
            words -= run
            for _ in 0..<run {
                sum1 += UInt32(data[i]) << 8 | UInt32(data[i + 1])
                sum2 += sum1
                i += 2
            }
            fold()
        }
        if count % 2 == 1 {
            sum1 += UInt32(data[i]) << 8
            sum2 += sum1
            fold()
        }
        fold()
        return sum2 << 16 | sum1
    }

    /// Undoes the shuffle filter: byte k of every element was stored together, for each k.
    private func unshuffle(_ data: [UInt8], elementSize: Int) -> [UInt8] {
        guard elementSize > 1, data.count >= elementSize else { return data }
        let n = data.count / elementSize
        var out = data  // a trailing partial element stays where it is
        for k in 0..<elementSize {
            for i in 0..<n { out[i * elementSize + k] = data[k * n + i] }
        }
        return out
    }

    /// Copies a decoded chunk whose first element is at `chunkAt` into the dataset's bytes,
    /// clipping the part that lies past the dataset's edge.
    private func copy(_ chunk: [UInt8], chunkAt: [Int], chunkDims: [Int], into out: inout [UInt8]) {
        let rank = dims.count
        let extent = (0..<rank).map { min(chunkDims[$0], dims[$0] - chunkAt[$0]) }
        let rowBytes = extent[rank - 1] * elementSize
        var position = [Int](repeating: 0, count: rank)  // within the chunk, last dimension left at 0
        while true {
            var src = 0, dst = 0
            for d in 0..<rank {
                src = src * chunkDims[d] + position[d]
                dst = dst * dims[d] + chunkAt[d] + position[d]
            }
            out.replaceSubrange((dst * elementSize)..<(dst * elementSize + rowBytes),
                                with: chunk[(src * elementSize)..<(src * elementSize + rowBytes)])
            var d = rank - 2
            while d >= 0 {
                position[d] += 1
                if position[d] < extent[d] { break }
                position[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }
}
