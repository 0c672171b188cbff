import LSTMCore

/// The three heaps of HDF5 files: the local heap of an old-style group (its members' names),
/// global heap collections (variable-length strings), and fractal heaps (the link and attribute
/// messages of groups and objects that have many).
enum HDF5Heaps {
    // MARK: Local heap ("HEAP")

    /// The data segment of the local heap at `at`: its file position and size.
    static func localHeap(_ file: HDF5Bytes, at: Int) throws -> (start: Int, size: Int) {
        var c = HDF5Cursor(file, at: at)
        try c.expectSignature("HEAP", "a local heap")
        try c.skip(4)  // version, reserved
        let size = try c.length("a local heap's size")
        _ = try c.length()  // free list
        guard let start = try c.address("a local heap's data") else { throw file.damaged("the local heap at byte \(at) has no data") }
        try file.require(start, size, "a local heap's data")
        return (start, size)
    }

    /// The NUL-terminated string at `offset` in a local heap's data segment.
    static func localHeapString(_ file: HDF5Bytes, _ heap: (start: Int, size: Int), offset: Int) throws -> String {
        guard offset >= 0, offset < heap.size else { throw file.damaged("a name lies outside its local heap") }
        let segment = file.bytes[(heap.start + offset)..<(heap.start + heap.size)]
        guard let end = segment.firstIndex(of: 0) else { throw file.damaged("a name in a local heap has no end") }
        return String(decoding: segment[segment.startIndex..<end], as: UTF8.self)
    }

    // MARK: Global heap ("GCOL")

    /// The objects of the global heap collection at `at`, by index: each object's bytes range.
    static func globalCollection(_ file: HDF5Bytes, at: Int) throws -> [Int: (offset: Int, size: Int)] {
        var c = HDF5Cursor(file, at: at)
        try c.expectSignature("GCOL", "a global heap collection")
        let version = try c.u8()
        guard version == 1 else { throw file.damaged("the global heap collection at byte \(at) has version \(version)") }
        try c.skip(3)
        let size = try c.length("a global heap collection's size")
        guard size >= 8 + file.lengthSize else { throw file.damaged("the global heap collection at byte \(at) has size \(size)") }
        try file.require(at, size, "a global heap collection")
        var objects: [Int: (Int, Int)] = [:]
        var o = HDF5Cursor(file, at: c.position, limit: at + size)
        let objectHeader = 8 + file.lengthSize
        while o.remaining >= objectHeader {
            let index = try o.u16()
            try o.skip(6)  // reference count, reserved
            let objectSize = try o.length("a global heap object's size")
            if index == 0 { break }  // free space: the rest of the collection
            guard objectSize <= o.remaining else {
                throw file.damaged("global heap object \(index) at byte \(o.position) runs past its collection")
            }
            objects[index] = (o.position, objectSize)
            try o.skip(min((objectSize + 7) / 8 * 8, o.remaining))
        }
        return objects
    }

    // MARK: Fractal heap ("FRHP")

    /// A fractal heap: where its direct blocks are in its address space, and how its heap IDs
    /// encode an object's offset and length.
    struct FractalHeap {
        /// Direct blocks, each covering `heapOffset ..< heapOffset + size` at file position `at`.
        var blocks: [(heapOffset: Int, size: Int, at: Int)] = []
        var offsetBytes = 0
        var lengthBytes = 0
        let file: HDF5Bytes

        static let maxBlocks = 1 << 16

        init(_ file: HDF5Bytes, at: Int) throws {
            self.file = file
            var c = HDF5Cursor(file, at: at)
            try c.expectSignature("FRHP", "a fractal heap")
            let version = try c.u8()
            guard version == 0 else { throw file.damaged("the fractal heap at byte \(at) has version \(version)") }
            _ = try c.u16()  // heap ID length
            let filterLength = try c.u16()
            guard filterLength == 0 else { throw file.unsupported("a fractal heap with I/O filters") }
            try c.skip(1)  // flags
            let maxManaged = try c.u32("a fractal heap's largest object")
            _ = try c.length(); _ = try c.address()  // huge objects: next ID, B-tree
            _ = try c.length(); _ = try c.address()  // free space
            for _ in 0..<8 { _ = try c.length() }     // managed space and object statistics
            let width = try c.u16("a fractal heap's table width")
            let startSize = try c.length("a fractal heap's starting block size")
            let maxDirect = try c.length("a fractal heap's largest direct block")
            let maxHeapBits = try c.u16("a fractal heap's address size")
            _ = try c.u16()  // starting rows of the root
            let root = try c.address("a fractal heap's root block")
            let rootRows = try c.u16()
            try file.verifyChecksum(at, c.position, "a fractal heap header")
            func isPowerOfTwo(_ v: Int) -> Bool { v > 0 && v & (v - 1) == 0 }
            guard width > 0, width <= 1024, isPowerOfTwo(startSize), isPowerOfTwo(maxDirect), startSize <= maxDirect,
                  maxDirect <= 1 << 32, maxHeapBits > 0, maxHeapBits <= 64, rootRows <= 64 else {
                throw file.damaged("the fractal heap at byte \(at) has an impossible doubling table")
            }
            offsetBytes = (maxHeapBits + 7) / 8
            let directOffsetBytes = (maxDirect.trailingZeroBitCount + 7) / 8
            let managedBytes = maxManaged == 0 ? 1 : (63 - UInt64(maxManaged).leadingZeroBitCount) / 8 + 1
            lengthBytes = min(directOffsetBytes, managedBytes)
            guard let root else { return }  // an empty heap
            let table = Table(width: width, startSize: startSize, maxDirect: maxDirect, headerAt: at, offsetBytes: offsetBytes)
            if rootRows == 0 {
                try addDirect(at: root, heapOffset: 0, size: startSize)
            } else {
                var seen: Set<Int> = []
                try walkIndirect(at: root, rows: rootRows, heapOffset: 0, table, depth: 0, seen: &seen)
            }
        }

        struct Table {
            let width, startSize, maxDirect, headerAt, offsetBytes: Int
            func rowSize(_ row: Int) -> Int { row == 0 ? startSize : startSize << (row - 1) }
        }

        private mutating func addDirect(at: Int, heapOffset: Int, size: Int) throws {
            guard blocks.count < FractalHeap.maxBlocks else { throw file.damaged("a fractal heap has too many blocks") }
            try file.expectSignature("FHDB", at: at, "a fractal heap direct block")
            try file.require(at, size, "a fractal heap direct block")
            blocks.append((heapOffset, size, at))
        }

        private mutating func walkIndirect(at: Int, rows: Int, heapOffset: Int, _ t: Table, depth: Int,
                                           seen: inout Set<Int>) throws {
            guard depth < 16, seen.insert(at).inserted else {
                throw file.damaged("the fractal heap's indirect blocks nest too deep or form a cycle at byte \(at)")
            }
            var c = HDF5Cursor(file, at: at)
            try c.expectSignature("FHIB", "a fractal heap indirect block")
            try c.skip(1 + file.offsetSize + t.offsetBytes)  // version, header address, block offset
            var offset = heapOffset
            var children: [(Int, Int, Int)] = []  // indirect children: address, rows, heap offset
            for row in 0..<rows {
                let size = t.rowSize(row)
                for _ in 0..<t.width {
                    let child = try c.address("a fractal heap block")
                    if let child {
                        if size <= t.maxDirect {
                            try addDirect(at: child, heapOffset: offset, size: size)
                        } else {
                            // An indirect child covering `size` bytes has this many rows.
                            let childRows = size.trailingZeroBitCount - (t.startSize * t.width).trailingZeroBitCount + 1
                            guard childRows > 0, childRows <= 64 else { throw file.damaged("a fractal heap block has \(childRows) rows") }
                            children.append((child, childRows, offset))
                        }
                    }
                    let (next, overflow) = offset.addingReportingOverflow(size)
                    guard !overflow else { throw file.damaged("a fractal heap's address space overflows") }
                    offset = next
                }
            }
            try file.verifyChecksum(at, c.position, "a fractal heap indirect block")
            for (child, childRows, childOffset) in children {
                try walkIndirect(at: child, rows: childRows, heapOffset: childOffset, t, depth: depth + 1, seen: &seen)
            }
        }

        /// The bytes of the object a heap ID names (managed or tiny; huge objects are refused).
        func object(_ id: ArraySlice<UInt8>) throws -> (offset: Int, size: Int, inline: [UInt8]?) {
            guard let first = id.first else { throw file.damaged("an empty fractal heap ID") }
            guard first >> 6 == 0 else { throw file.damaged("a fractal heap ID has version \(first >> 6)") }
            var bytes = Array(id.dropFirst())
            switch (first >> 4) & 3 {
            case 0:
                guard bytes.count >= offsetBytes + lengthBytes else { throw file.damaged("a fractal heap ID is too short") }
                func little(_ s: ArraySlice<UInt8>) -> Int { s.reversed().reduce(0) { $0 << 8 | Int($1) } }
                let offset = little(bytes[0..<offsetBytes])
                let length = little(bytes[offsetBytes..<(offsetBytes + lengthBytes)])
                guard let block = blocks.first(where: { offset >= $0.heapOffset && offset < $0.heapOffset + $0.size }),
                      length <= block.heapOffset + block.size - offset else {
                    throw file.damaged("a fractal heap ID points outside the heap's blocks (offset \(offset), length \(length))")
                }
                return (block.at + offset - block.heapOffset, length, nil)
            case 2:
                let length = Int(first & 0x0F) + 1
                guard bytes.count >= length else { throw file.damaged("a tiny fractal heap object is longer than its ID") }
                bytes = Array(bytes.prefix(length))
                return (0, length, bytes)
            default:
                throw file.unsupported("a \"huge\" fractal heap object (a link or attribute larger than the heap's blocks)")
            }
        }
    }
}
