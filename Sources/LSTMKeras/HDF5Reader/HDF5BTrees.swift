import LSTMCore

/// The B-trees of HDF5 files, walked to collect all their entries (the reader needs every
/// member of a group and every chunk of a dataset, never a lookup of one key). Every node is
/// visited at most once and the depth is bounded, so a damaged tree cannot loop.
enum HDF5BTree {
    static let maxDepth = 32
    static let maxNodes = 1 << 16

    // MARK: Version 1 ("TREE"): old-style groups and layout-version-3 chunk indexes

    /// One entry of a version-1 B-tree leaf: the key before it and the child address.
    struct V1Entry {
        /// The raw key bytes before the child (a chunk's key: size, filter mask, offsets).
        let key: ArraySlice<UInt8>
        let child: Int
    }

    /// The leaf entries of a version-1 B-tree of `nodeType` (0 groups, 1 chunks).
    static func v1Leaves(_ file: HDF5Bytes, root: Int, nodeType: Int, keySize: Int) throws -> [V1Entry] {
        var out: [V1Entry] = []
        var seen: Set<Int> = []
        var stack = [(root, -1)]
        while let (at, parentLevel) = stack.popLast() {
            guard seen.insert(at).inserted, seen.count <= maxNodes else {
                throw file.damaged("the B-tree at byte \(root) visits node \(at) twice or has too many nodes")
            }
            var c = HDF5Cursor(file, at: at)
            try c.expectSignature("TREE", "a B-tree node")
            let type = try c.u8(), level = try c.u8(), used = try c.u16()
            guard type == nodeType, level < maxDepth, parentLevel < 0 || level == parentLevel - 1 else {
                throw file.damaged("the B-tree node at byte \(at) has type \(type) and level \(level)")
            }
            try c.skip(2 * file.offsetSize)  // siblings
            for _ in 0..<used {
                let key = try c.bytes(keySize, "a B-tree key")
                guard let child = try c.address("a B-tree child") else {
                    throw file.damaged("the B-tree node at byte \(at) has an undefined child")
                }
                if level == 0 { out.append(V1Entry(key: key, child: child)) } else { stack.append((child, level)) }
            }
        }
        return out
    }

    // MARK: Version 2 ("BTHD"): dense link and attribute name indexes

    /// The records of a version-2 B-tree, as raw bytes, in no particular order.
    static func v2Records(_ file: HDF5Bytes, header at: Int) throws -> [ArraySlice<UInt8>] {
        var c = HDF5Cursor(file, at: at)
        try c.expectSignature("BTHD", "a B-tree header")
        let version = try c.u8()
        guard version == 0 else { throw file.damaged("the B-tree header at byte \(at) has version \(version)") }
        try c.skip(1)  // record type: the caller knows what it indexed
        let nodeSize = try c.u32(), recordSize = try c.u16(), depth = try c.u16()
        try c.skip(2)
        let root = try c.address("a B-tree root")
        let rootCount = try c.u16()
        _ = try c.length()
        try file.verifyChecksum(at, c.position, "a B-tree header")
        guard let root, rootCount > 0 else { return [] }
        guard nodeSize >= 16, nodeSize <= 1 << 20, recordSize > 0, recordSize <= nodeSize, depth < maxDepth else {
            throw file.damaged("the B-tree header at byte \(at) has node size \(nodeSize), record size \(recordSize), depth \(depth)")
        }
        let widths = try v2PointerWidths(file, nodeSize: nodeSize, recordSize: recordSize, depth: depth)
        var out: [ArraySlice<UInt8>] = []
        var seen: Set<Int> = []
        var stack = [(root, rootCount, depth)]
        while let (node, count, level) = stack.popLast() {
            guard seen.insert(node).inserted, seen.count <= maxNodes else {
                throw file.damaged("the B-tree at byte \(at) visits node \(node) twice or has too many nodes")
            }
            var n = HDF5Cursor(file, at: node, limit: node + nodeSize)
            try n.expectSignature(level == 0 ? "BTLF" : "BTIN", "a B-tree node")
            try n.skip(2)
            for _ in 0..<count { out.append(try n.bytes(recordSize, "a B-tree record")) }
            if level > 0 {
                for _ in 0...count {
                    guard let child = try n.address("a B-tree child") else {
                        throw file.damaged("the B-tree node at byte \(node) has an undefined child")
                    }
                    let childCount = try n.count(widths.count, "a child's record count")
                    if level > 1 { try n.skip(widths.total[level - 1]) }
                    stack.append((child, childCount, level - 1))
                }
            }
            try file.verifyChecksum(node, n.position, "a B-tree node")
        }
        return out
    }

    /// The sizes of the record-count fields in internal nodes, as libhdf5 derives them from the
    /// node and record sizes: the count of a child (enough bytes for a full leaf) and, below
    /// depth 1, the total records under a child (enough for a full subtree of that depth).
    private static func v2PointerWidths(_ file: HDF5Bytes, nodeSize: Int, recordSize: Int, depth: Int) throws
        -> (count: Int, total: [Int]) {
        func bytesFor(_ n: UInt64) -> Int { n == 0 ? 1 : (63 - n.leadingZeroBitCount) / 8 + 1 }
        let prefix = 10  // signature, version, type, checksum
        let leafMax = UInt64(max((nodeSize - prefix) / recordSize, 0))
        let countWidth = bytesFor(leafMax)
        var cumulative = [leafMax], totalWidths = [0]
        if depth > 0 {
            for d in 1...depth {
                let pointer = file.offsetSize + countWidth + (d > 1 ? totalWidths[d - 1] : 0)
                let maxRecords = UInt64(max((nodeSize - (prefix + pointer)) / (recordSize + pointer), 0))
                let (a, o1) = (maxRecords + 1).multipliedReportingOverflow(by: cumulative[d - 1])
                let (cum, o2) = a.addingReportingOverflow(maxRecords)
                guard !o1, !o2 else { throw file.damaged("a B-tree is deeper than its node size allows") }
                cumulative.append(cum)
                totalWidths.append(bytesFor(cum))
            }
        }
        return (countWidth, totalWidths)
    }
}
