/// Matrix products on row-major float32 buffers; `ld*` are row strides in elements.

/// c[n] += a[k] · B[k×n] for one row (batch 1, streaming): 32 columns of c are held in
/// registers while the k rows of B stream past, instead of reading and writing c for every row.
@inline(never)
public func rowTimesMatrix(_ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ ldb: Int,
                           _ c: UnsafeMutablePointer<Float>) {
    var j = 0
#if LSTM_AVX512
    // 32 registers of 16 lanes: 128 columns in 8 accumulators per pass over the rows of B.
    while j + 128 <= n {
        var c0 = load16(c + j), c1 = load16(c + j + 16), c2 = load16(c + j + 32), c3 = load16(c + j + 48)
        var c4 = load16(c + j + 64), c5 = load16(c + j + 80), c6 = load16(c + j + 96), c7 = load16(c + j + 112)
        var bp = b + j
        for p in 0..<k {
            let x = V16(repeating: a[p])
            c0 = c0.addingProduct(x, load16(bp)); c1 = c1.addingProduct(x, load16(bp + 16))
            c2 = c2.addingProduct(x, load16(bp + 32)); c3 = c3.addingProduct(x, load16(bp + 48))
            c4 = c4.addingProduct(x, load16(bp + 64)); c5 = c5.addingProduct(x, load16(bp + 80))
            c6 = c6.addingProduct(x, load16(bp + 96)); c7 = c7.addingProduct(x, load16(bp + 112))
            bp += ldb
        }
        store16(c0, c + j); store16(c1, c + j + 16); store16(c2, c + j + 32); store16(c3, c + j + 48)
        store16(c4, c + j + 64); store16(c5, c + j + 80); store16(c6, c + j + 96); store16(c7, c + j + 112)
        j += 128
    }
#endif
#if LSTM_FMA
    // 16 vector registers: 8 accumulators keep both FMA units busy despite their latency.
    while j + 64 <= n {
        var c0 = load8(c + j), c1 = load8(c + j + 8), c2 = load8(c + j + 16), c3 = load8(c + j + 24)
        var c4 = load8(c + j + 32), c5 = load8(c + j + 40), c6 = load8(c + j + 48), c7 = load8(c + j + 56)
        var bp = b + j
        for p in 0..<k {
            let x = V8(repeating: a[p])
            c0 = fma8(c0, x, load8(bp)); c1 = fma8(c1, x, load8(bp + 8))
            c2 = fma8(c2, x, load8(bp + 16)); c3 = fma8(c3, x, load8(bp + 24))
            c4 = fma8(c4, x, load8(bp + 32)); c5 = fma8(c5, x, load8(bp + 40))
            c6 = fma8(c6, x, load8(bp + 48)); c7 = fma8(c7, x, load8(bp + 56))
            bp += ldb
        }
        store8(c0, c + j); store8(c1, c + j + 8); store8(c2, c + j + 16); store8(c3, c + j + 24)
        store8(c4, c + j + 32); store8(c5, c + j + 40); store8(c6, c + j + 48); store8(c7, c + j + 56)
        j += 64
    }
#endif
    while j + 32 <= n {
        var c0 = load8(c + j), c1 = load8(c + j + 8), c2 = load8(c + j + 16), c3 = load8(c + j + 24)
        var bp = b + j
        for p in 0..<k {
            let x = V8(repeating: a[p])
            c0 = fma8(c0, x, load8(bp)); c1 = fma8(c1, x, load8(bp + 8))
            c2 = fma8(c2, x, load8(bp + 16)); c3 = fma8(c3, x, load8(bp + 24))
            bp += ldb
        }
        store8(c0, c + j); store8(c1, c + j + 8); store8(c2, c + j + 16); store8(c3, c + j + 24)
        j += 32
    }
    while j < n {
        let w = min(8, n - j)
        var acc = loadPartial8(c + j, w)
        var bp = b + j
        for p in 0..<k {
            acc = fma8(acc, V8(repeating: a[p]), loadPartial8(bp, w))
            bp += ldb
        }
        storePartial8(acc, c + j, w)
        j += 8
    }
}

/// Column panels for `gemmPacked`: B [k×n] becomes ⌈n/16⌉ panels, panel q holding columns
/// 16q ..< 16q+16 of every row, contiguously, zero past n. Packing costs one pass over B, so it
/// pays when B is multiplied many times (an LSTM's recurrent kernel, once per timestep).
public func packedPanelsCount(k: Int, n: Int) -> Int { k * ((n + 15) / 16) * 16 }

@inline(never)
public func packPanels(_ k: Int, _ n: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ out: UnsafeMutablePointer<Float>) {
    let panels = (n + 15) / 16
    for q in 0..<panels {
        let j0 = q * 16, w = min(16, n - j0)
        let dst = out + q * k * 16
        for p in 0..<k {
            let src = b + p * ldb + j0, row = dst + p * 16
            store8(loadPartial8(src, min(w, 8)), row)
            store8(loadPartial8(src + 8, w - min(w, 8)), row + 8)
        }
    }
}

/// C[m×n] += A[m×k] · B, B packed by `packPanels`. A 4×16 block of C stays in registers (8
/// vectors) while k steps stream one panel row and four values of A each.
@inline(never)
public func gemmPacked(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                       _ packed: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if m <= 0 || n <= 0 || k <= 0 { return }
    let panels = (n + 15) / 16
    var firstPanel = 0
#if LSTM_AVX512
    if m == 1 {
        rowTimesPanels(n, k, a, packed, c)
        return
    }
    // 32 registers of 16 floats: two full panels (32 columns) of 8 rows at a time.
    while firstPanel + 2 <= n / 16 {
        let p0 = packed + firstPanel * k * 16, p1 = p0 + k * 16, j0 = firstPanel * 16
        var i = 0
        while i + 8 <= m {
            block8x32(k, a + i * lda, lda, p0, p1, c + i * ldc + j0, ldc)
            i += 8
        }
        // Four rows left (a thread's share of a batch of 8): one pass over the panels, not four
        // (4 of 8 rows per thread at LSTM(256) had made two threads slower than one).
        if i + 4 <= m {
            block4x32(k, a + i * lda, lda, p0, p1, c + i * ldc + j0, ldc)
            i += 4
        }
        while i < m {
            blockT1x32(k, a + i * lda, 1, p0, p1, 16, c + i * ldc + j0)
            i += 1
        }
        firstPanel += 2
    }
#endif
    for q in firstPanel..<panels {
        let j0 = q * 16, w = min(16, n - j0)
        let panel = packed + q * k * 16
        var i = 0
#if LSTM_AVX512
        // The last panel or two (gate widths that are not a multiple of 32, such as LSTM(50)'s
        // 200 or its backward product's 50): 8 rows of one panel in 8 ZMM sums.
        while i + 8 <= m {
            if w == 16 {
                block8x16(k, a + i * lda, lda, panel, c + i * ldc + j0, ldc, 16)
            } else {
                block8x16(k, a + i * lda, lda, panel, c + i * ldc + j0, ldc, w)
            }
            i += 8
        }
#endif
#if LSTM_FMA
        // 16 vector registers: blocks of 6 rows (12 sums) where the rows allow, 4 for the rest.
        var sixes = (m - i) / 6
        if (m - i) % 6 == 2 && sixes > 0 { sixes -= 1 }  // 8 rows left: two blocks of 4
        for _ in 0..<sixes {
            if w == 16 {
                block6x16(k, a + i * lda, lda, panel, c + i * ldc + j0, ldc, 16)
            } else {
                block6x16(k, a + i * lda, lda, panel, c + i * ldc + j0, ldc, w)
            }
            i += 6
        }
#endif
        while i + 4 <= m {
            // A constant width lets the full-panel case load and store C without lane checks.
            if w == 16 {
                block4x16(k, a + i * lda, lda, panel, c + i * ldc + j0, ldc, 16)
            } else {
                block4x16(k, a + i * lda, lda, panel, c + i * ldc + j0, ldc, w)
            }
            i += 4
        }
        while i < m {
            block1x16(k, a + i * lda, panel, c + i * ldc + j0, w)
            i += 1
        }
    }
}

#if LSTM_AVX512
typealias V16 = SIMD16<Float>

@inline(__always)
private func load16(_ p: UnsafePointer<Float>) -> V16 { UnsafeRawPointer(p).loadUnaligned(as: V16.self) }

@inline(__always)
private func store16(_ v: V16, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V16.self) }

/// C[8×32] += A[8×k] · (panels p0, p1): 16 sums, 2 of B and 1 of A in the AVX-512 build's 32
/// registers; each step's two panel rows serve 16 fused multiply-adds.
@inline(__always)
private func block8x32(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ p0: UnsafePointer<Float>,
                       _ p1: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    let c0 = c, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc, c6 = c5 + ldc, c7 = c6 + ldc
    var s00 = load16(c0), s01 = load16(c0 + 16), s10 = load16(c1), s11 = load16(c1 + 16)
    var s20 = load16(c2), s21 = load16(c2 + 16), s30 = load16(c3), s31 = load16(c3 + 16)
    var s40 = load16(c4), s41 = load16(c4 + 16), s50 = load16(c5), s51 = load16(c5 + 16)
    var s60 = load16(c6), s61 = load16(c6 + 16), s70 = load16(c7), s71 = load16(c7 + 16)
    let a0 = a, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda
    for p in 0..<k {
        let b0 = load16(p0 + p * 16), b1 = load16(p1 + p * 16)
        var x = V16(repeating: a0[p])
        s00 = s00.addingProduct(x, b0); s01 = s01.addingProduct(x, b1)
        x = V16(repeating: a1[p])
        s10 = s10.addingProduct(x, b0); s11 = s11.addingProduct(x, b1)
        x = V16(repeating: a2[p])
        s20 = s20.addingProduct(x, b0); s21 = s21.addingProduct(x, b1)
        x = V16(repeating: a3[p])
        s30 = s30.addingProduct(x, b0); s31 = s31.addingProduct(x, b1)
        x = V16(repeating: a4[p])
        s40 = s40.addingProduct(x, b0); s41 = s41.addingProduct(x, b1)
        x = V16(repeating: a5[p])
        s50 = s50.addingProduct(x, b0); s51 = s51.addingProduct(x, b1)
        x = V16(repeating: a6[p])
        s60 = s60.addingProduct(x, b0); s61 = s61.addingProduct(x, b1)
        x = V16(repeating: a7[p])
        s70 = s70.addingProduct(x, b0); s71 = s71.addingProduct(x, b1)
    }
    store16(s00, c0); store16(s01, c0 + 16); store16(s10, c1); store16(s11, c1 + 16)
    store16(s20, c2); store16(s21, c2 + 16); store16(s30, c3); store16(s31, c3 + 16)
    store16(s40, c4); store16(s41, c4 + 16); store16(s50, c5); store16(s51, c5 + 16)
    store16(s60, c6); store16(s61, c6 + 16); store16(s70, c7); store16(s71, c7 + 16)
}

/// c[n] += a[k] · B for one row and B packed: eight panels (128 columns) per pass, eight
/// independent sums (blockT1x32's two would wait on each other's latency), each panel read
/// front to back (B's rows 4 KB apart, read in place, had missed the first-level cache).
@inline(__always)
private func rowTimesPanels(_ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ packed: UnsafePointer<Float>,
                            _ c: UnsafeMutablePointer<Float>) {
    let panels = (n + 15) / 16, stride = k * 16
    var q = 0
    while q + 8 <= n / 16 {
        let p = packed + q * stride, cq = c + q * 16
        var s0 = load16(cq), s1 = load16(cq + 16), s2 = load16(cq + 32), s3 = load16(cq + 48)
        var s4 = load16(cq + 64), s5 = load16(cq + 80), s6 = load16(cq + 96), s7 = load16(cq + 112)
        for t in 0..<k {
            let x = V16(repeating: a[t]), o = t * 16
            s0 = s0.addingProduct(x, load16(p + o)); s1 = s1.addingProduct(x, load16(p + stride + o))
            s2 = s2.addingProduct(x, load16(p + 2 * stride + o)); s3 = s3.addingProduct(x, load16(p + 3 * stride + o))
            s4 = s4.addingProduct(x, load16(p + 4 * stride + o)); s5 = s5.addingProduct(x, load16(p + 5 * stride + o))
            s6 = s6.addingProduct(x, load16(p + 6 * stride + o)); s7 = s7.addingProduct(x, load16(p + 7 * stride + o))
        }
        store16(s0, cq); store16(s1, cq + 16); store16(s2, cq + 32); store16(s3, cq + 48)
        store16(s4, cq + 64); store16(s5, cq + 80); store16(s6, cq + 96); store16(s7, cq + 112)
        q += 8
    }
    while q < panels {
        blockT1x16(k, a, 1, packed + q * stride, 16, c + q * 16, min(16, n - q * 16))
        q += 1
    }
}

/// C[8×w] += A[8×k] · panel (w ≤ 16 columns; the panel is zero past them): 8 sums, C's edge
/// lanes loaded and stored one by one.
@inline(__always)
private func block8x16(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ panel: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ w: Int) {
    @inline(__always) func loadC(_ p: UnsafeMutablePointer<Float>) -> V16 {
        if w == 16 { return load16(p) }
        var v = V16()
        for j in 0..<w { v[j] = p[j] }
        return v
    }
    @inline(__always) func storeC(_ v: V16, _ p: UnsafeMutablePointer<Float>) {
        if w == 16 { store16(v, p); return }
        for j in 0..<w { p[j] = v[j] }
    }
    let c0 = c, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc, c6 = c5 + ldc, c7 = c6 + ldc
    var s0 = loadC(c0), s1 = loadC(c1), s2 = loadC(c2), s3 = loadC(c3)
    var s4 = loadC(c4), s5 = loadC(c5), s6 = loadC(c6), s7 = loadC(c7)
    let a0 = a, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda
    for p in 0..<k {
        let b = load16(panel + p * 16)
        s0 = s0.addingProduct(V16(repeating: a0[p]), b); s1 = s1.addingProduct(V16(repeating: a1[p]), b)
        s2 = s2.addingProduct(V16(repeating: a2[p]), b); s3 = s3.addingProduct(V16(repeating: a3[p]), b)
        s4 = s4.addingProduct(V16(repeating: a4[p]), b); s5 = s5.addingProduct(V16(repeating: a5[p]), b)
        s6 = s6.addingProduct(V16(repeating: a6[p]), b); s7 = s7.addingProduct(V16(repeating: a7[p]), b)
    }
    storeC(s0, c0); storeC(s1, c1); storeC(s2, c2); storeC(s3, c3)
    storeC(s4, c4); storeC(s5, c5); storeC(s6, c6); storeC(s7, c7)
}

/// C[4×32] += A[4×k] · (panels p0, p1): 8 sums.
@inline(__always)
private func block4x32(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ p0: UnsafePointer<Float>,
                       _ p1: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    let c0 = c, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
    var s00 = load16(c0), s01 = load16(c0 + 16), s10 = load16(c1), s11 = load16(c1 + 16)
    var s20 = load16(c2), s21 = load16(c2 + 16), s30 = load16(c3), s31 = load16(c3 + 16)
    let a0 = a, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
    for p in 0..<k {
        let b0 = load16(p0 + p * 16), b1 = load16(p1 + p * 16)
        var x = V16(repeating: a0[p])
        s00 = s00.addingProduct(x, b0); s01 = s01.addingProduct(x, b1)
        x = V16(repeating: a1[p])
        s10 = s10.addingProduct(x, b0); s11 = s11.addingProduct(x, b1)
        x = V16(repeating: a2[p])
        s20 = s20.addingProduct(x, b0); s21 = s21.addingProduct(x, b1)
        x = V16(repeating: a3[p])
        s30 = s30.addingProduct(x, b0); s31 = s31.addingProduct(x, b1)
    }
    store16(s00, c0); store16(s01, c0 + 16); store16(s10, c1); store16(s11, c1 + 16)
    store16(s20, c2); store16(s21, c2 + 16); store16(s30, c3); store16(s31, c3 + 16)
}

/// C[m×n] += Aᵀ · B with A stored [k×m] (rows lda apart) and B packed by `packPanels`: the
/// weight-gradient product without transposing A first. Blocks as in gemmPacked; A's element
/// (i, p) is read at p·lda + i.
@inline(__always)
private func gemmPackedTransposedA(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                                   _ packed: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    let panels = (n + 15) / 16
    var q = 0
    while q + 2 <= n / 16 {
        let p0 = packed + q * k * 16, p1 = p0 + k * 16, j0 = q * 16
        var i = 0
        while i + 8 <= m {
            blockT8x32(k, a + i, lda, p0, p1, 16, c + i * ldc + j0, ldc)
            i += 8
        }
        while i < m {
            blockT1x32(k, a + i, lda, p0, p1, 16, c + i * ldc + j0)
            i += 1
        }
        q += 2
    }
    while q < panels {
        let j0 = q * 16, w = min(16, n - j0), panel = packed + q * k * 16
        for i in 0..<m { blockT1x16(k, a + i, lda, panel, 16, c + i * ldc + j0, w) }
        q += 1
    }
}

/// block8x32 with A read down its columns: step p takes A's eight values at a + p·lda, and B's
/// two 16-column halves at p0 + p·bStride and p1 + p·bStride (packed panels: bStride 16; B in
/// place: its row stride). Kept apart from block8x32, as blockT4x16 is from block4x16 (there
/// one function taking the strides measured 13% slower); not measured again for this pair.
@inline(__always)
private func blockT8x32(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ p0: UnsafePointer<Float>,
                        _ p1: UnsafePointer<Float>, _ bStride: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    let c0 = c, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc, c6 = c5 + ldc, c7 = c6 + ldc
    var s00 = load16(c0), s01 = load16(c0 + 16), s10 = load16(c1), s11 = load16(c1 + 16)
    var s20 = load16(c2), s21 = load16(c2 + 16), s30 = load16(c3), s31 = load16(c3 + 16)
    var s40 = load16(c4), s41 = load16(c4 + 16), s50 = load16(c5), s51 = load16(c5 + 16)
    var s60 = load16(c6), s61 = load16(c6 + 16), s70 = load16(c7), s71 = load16(c7 + 16)
    for p in 0..<k {
        let b0 = load16(p0 + p * bStride), b1 = load16(p1 + p * bStride), ap = a + p * lda
        var x = V16(repeating: ap[0])
        s00 = s00.addingProduct(x, b0); s01 = s01.addingProduct(x, b1)
        x = V16(repeating: ap[1])
        s10 = s10.addingProduct(x, b0); s11 = s11.addingProduct(x, b1)
        x = V16(repeating: ap[2])
        s20 = s20.addingProduct(x, b0); s21 = s21.addingProduct(x, b1)
        x = V16(repeating: ap[3])
        s30 = s30.addingProduct(x, b0); s31 = s31.addingProduct(x, b1)
        x = V16(repeating: ap[4])
        s40 = s40.addingProduct(x, b0); s41 = s41.addingProduct(x, b1)
        x = V16(repeating: ap[5])
        s50 = s50.addingProduct(x, b0); s51 = s51.addingProduct(x, b1)
        x = V16(repeating: ap[6])
        s60 = s60.addingProduct(x, b0); s61 = s61.addingProduct(x, b1)
        x = V16(repeating: ap[7])
        s70 = s70.addingProduct(x, b0); s71 = s71.addingProduct(x, b1)
    }
    store16(s00, c0); store16(s01, c0 + 16); store16(s10, c1); store16(s11, c1 + 16)
    store16(s20, c2); store16(s21, c2 + 16); store16(s30, c3); store16(s31, c3 + 16)
    store16(s40, c4); store16(s41, c4 + 16); store16(s50, c5); store16(s51, c5 + 16)
    store16(s60, c6); store16(s61, c6 + 16); store16(s70, c7); store16(s71, c7 + 16)
}

/// One row of C against two 16-column halves of B (p0, p1; packed panels: bStride 16, B in
/// place: its row stride), A's k values lda apart (1: a row of A, as gemmPacked reads it).
@inline(__always)
private func blockT1x32(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ p0: UnsafePointer<Float>,
                        _ p1: UnsafePointer<Float>, _ bStride: Int, _ c: UnsafeMutablePointer<Float>) {
    var s0 = load16(c), s1 = load16(c + 16)
    for p in 0..<k {
        let x = V16(repeating: a[p * lda])
        s0 = s0.addingProduct(x, load16(p0 + p * bStride)); s1 = s1.addingProduct(x, load16(p1 + p * bStride))
    }
    store16(s0, c); store16(s1, c + 16)
}

#endif

@inline(__always)
private func block4x16(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ panel: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ w: Int) {
    let lo = min(w, 8), hi = w - lo
    let c0 = c, c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc
    var s00 = loadPartial8(c0, lo), s01 = loadPartial8(c0 + 8, hi)
    var s10 = loadPartial8(c1, lo), s11 = loadPartial8(c1 + 8, hi)
    var s20 = loadPartial8(c2, lo), s21 = loadPartial8(c2 + 8, hi)
    var s30 = loadPartial8(c3, lo), s31 = loadPartial8(c3 + 8, hi)
    let a0 = a, a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda
    var bp = panel
    for p in 0..<k {
        let b0 = load8(bp), b1 = load8(bp + 8)
        let x0 = V8(repeating: a0[p]), x1 = V8(repeating: a1[p])
        s00 = fma8(s00, x0, b0); s01 = fma8(s01, x0, b1)
        s10 = fma8(s10, x1, b0); s11 = fma8(s11, x1, b1)
        let x2 = V8(repeating: a2[p]), x3 = V8(repeating: a3[p])
        s20 = fma8(s20, x2, b0); s21 = fma8(s21, x2, b1)
        s30 = fma8(s30, x3, b0); s31 = fma8(s31, x3, b1)
        bp += 16
    }
    storePartial8(s00, c0, lo); storePartial8(s01, c0 + 8, hi)
    storePartial8(s10, c1, lo); storePartial8(s11, c1 + 8, hi)
    storePartial8(s20, c2, lo); storePartial8(s21, c2 + 8, hi)
    storePartial8(s30, c3, lo); storePartial8(s31, c3 + 8, hi)
}

/// block4x16 with six rows, for the AVX2 build (12 sums + 2 of B + 1 of A fill its 16 vector
/// registers; the baseline build's SIMD8 takes two registers each, so it keeps 4 rows): W3 on one
/// thread 29–32 → 25–27.5 ms. A separate function: the row count sets the register count.
@inline(__always)
private func block6x16(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ panel: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ w: Int) {
    let lo = min(w, 8), hi = w - lo
    let c0 = c, c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc
    var s00 = loadPartial8(c0, lo), s01 = loadPartial8(c0 + 8, hi)
    var s10 = loadPartial8(c1, lo), s11 = loadPartial8(c1 + 8, hi)
    var s20 = loadPartial8(c2, lo), s21 = loadPartial8(c2 + 8, hi)
    var s30 = loadPartial8(c3, lo), s31 = loadPartial8(c3 + 8, hi)
    var s40 = loadPartial8(c4, lo), s41 = loadPartial8(c4 + 8, hi)
    var s50 = loadPartial8(c5, lo), s51 = loadPartial8(c5 + 8, hi)
    let a0 = a, a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda
    var bp = panel
    for p in 0..<k {
        let b0 = load8(bp), b1 = load8(bp + 8)
        var x = V8(repeating: a0[p])
        s00 = fma8(s00, x, b0); s01 = fma8(s01, x, b1)
        x = V8(repeating: a1[p])
        s10 = fma8(s10, x, b0); s11 = fma8(s11, x, b1)
        x = V8(repeating: a2[p])
        s20 = fma8(s20, x, b0); s21 = fma8(s21, x, b1)
        x = V8(repeating: a3[p])
        s30 = fma8(s30, x, b0); s31 = fma8(s31, x, b1)
        x = V8(repeating: a4[p])
        s40 = fma8(s40, x, b0); s41 = fma8(s41, x, b1)
        x = V8(repeating: a5[p])
        s50 = fma8(s50, x, b0); s51 = fma8(s51, x, b1)
        bp += 16
    }
    storePartial8(s00, c0, lo); storePartial8(s01, c0 + 8, hi)
    storePartial8(s10, c1, lo); storePartial8(s11, c1 + 8, hi)
    storePartial8(s20, c2, lo); storePartial8(s21, c2 + 8, hi)
    storePartial8(s30, c3, lo); storePartial8(s31, c3 + 8, hi)
    storePartial8(s40, c4, lo); storePartial8(s41, c4 + 8, hi)
    storePartial8(s50, c5, lo); storePartial8(s51, c5 + 8, hi)
}

@inline(__always)
private func block1x16(_ k: Int, _ a: UnsafePointer<Float>, _ panel: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ w: Int) {
    let lo = min(w, 8), hi = w - lo
    var s0 = loadPartial8(c, lo), s1 = loadPartial8(c + 8, hi)
    var bp = panel
    for p in 0..<k {
        let x = V8(repeating: a[p])
        s0 = fma8(s0, x, load8(bp)); s1 = fma8(s1, x, load8(bp + 8))
        bp += 16
    }
    storePartial8(s0, c, lo); storePartial8(s1, c + 8, hi)
}

/// C[m×n] += Aᵀ · B with A stored [k×m] and B [k×n] (a weight gradient: k runs over every
/// timestep and sample, so it is long). k is walked in chunks: each chunk of A is transposed and
/// each chunk of B packed into panels, then multiplied by `gemmPacked`. Reading B in place (rows
/// ldb apart) was 1.4× slower for LSTM(256)'s train step (rows 4 KB apart share cache sets) but
/// 10% faster for the sine job's (rows 800 bytes apart), so B's rows under 1 KB apart are read
/// in place.
@inline(never)
public func gemmTransposedA(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                            _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if m <= 0 || n <= 0 || k <= 0 { return }
    if ldb < 256 {
        gemmTransposedAInPlace(m, n, k, a, lda, b, ldb, c, ldc)
        return
    }
    let chunk = min(k, 256)
#if LSTM_AVX512
    // A's rows are read in place (eight consecutive values of row p per step of a block): no
    // transposed copy, which had cost a quarter of this product's time for Bidirectional(LSTM(64)).
    let packedChunk = UnsafeMutablePointer<Float>.allocate(capacity: packedPanelsCount(k: chunk, n: n))
    defer { packedChunk.deallocate() }
    var q0 = 0
    while q0 < k {
        let kk = min(chunk, k - q0)
        packPanels(kk, n, b + q0 * ldb, ldb, packedChunk)
        gemmPackedTransposedA(m, n, kk, a + q0 * lda, lda, packedChunk, c, ldc)
        q0 += kk
    }
#else
    let aT = UnsafeMutablePointer<Float>.allocate(capacity: m * chunk)
    let packed = UnsafeMutablePointer<Float>.allocate(capacity: packedPanelsCount(k: chunk, n: n))
    defer { aT.deallocate(); packed.deallocate() }
    var p0 = 0
    while p0 < k {
        let kk = min(chunk, k - p0)
        for p in 0..<kk {
            let row = a + (p0 + p) * lda
            for i in 0..<m { aT[i * kk + p] = row[i] }
        }
        packPanels(kk, n, b + p0 * ldb, ldb, packed)
        gemmPacked(m, n, kk, aT, kk, packed, c, ldc)
        p0 += kk
    }
#endif
}

/// gemmTransposedA without packing, for B's rows under 1 KB apart: row p of A and of B are both
/// contiguous, so a 4×16 block of C takes four values of A's row and sixteen of B's per step. k
/// is walked in chunks so that the chunk of B's columns in use stays in the first-level cache
/// across row blocks.
@inline(__always)
private func gemmTransposedAInPlace(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                            _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if m <= 0 || n <= 0 || k <= 0 { return }
    let chunk = 256
    var p0 = 0
    while p0 < k {
        let kk = min(chunk, k - p0)
        var j0 = 0
#if LSTM_AVX512
        // 32 columns of 8 rows in 16 ZMM sums, B's rows read in place.
        while j0 + 32 <= n {
            let bj = b + p0 * ldb + j0, ai = a + p0 * lda
            var i = 0
            while i + 8 <= m {
                blockT8x32(kk, ai + i, lda, bj, bj + 16, ldb, c + i * ldc + j0, ldc)
                i += 8
            }
            while i < m {
                blockT1x32(kk, ai + i, lda, bj, bj + 16, ldb, c + i * ldc + j0)
                i += 1
            }
            j0 += 32
        }
#endif
        while j0 < n {
            let w = min(16, n - j0)
            let bj = b + p0 * ldb + j0
            var i = 0
            while i + 4 <= m {
                if w == 16 {
                    blockT4x16(kk, a + p0 * lda + i, lda, bj, ldb, c + i * ldc + j0, ldc, 16)
                } else {
                    blockT4x16(kk, a + p0 * lda + i, lda, bj, ldb, c + i * ldc + j0, ldc, w)
                }
                i += 4
            }
            while i < m {
                blockT1x16(kk, a + p0 * lda + i, lda, bj, ldb, c + i * ldc + j0, w)
                i += 1
            }
            j0 += 16
        }
        p0 += kk
    }
}

/// block4x16's twin for Aᵀ·B (A's four values contiguous per step, B's rows ldb apart). One
/// function with the strides as parameters was measured: 13% slower for W4's forward on one
/// thread (60 vs 53 ms), so the two stay separate.
@inline(__always)
private func blockT4x16(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ w: Int) {
    let lo = min(w, 8), hi = w - lo
    let c0 = c, c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc
    var s00 = loadPartial8(c0, lo), s01 = loadPartial8(c0 + 8, hi)
    var s10 = loadPartial8(c1, lo), s11 = loadPartial8(c1 + 8, hi)
    var s20 = loadPartial8(c2, lo), s21 = loadPartial8(c2 + 8, hi)
    var s30 = loadPartial8(c3, lo), s31 = loadPartial8(c3 + 8, hi)
    var ap = a, bp = b
    for _ in 0..<k {
        let b0 = loadPartial8(bp, lo), b1 = loadPartial8(bp + 8, hi)
        let x0 = V8(repeating: ap[0]), x1 = V8(repeating: ap[1])
        s00 = fma8(s00, x0, b0); s01 = fma8(s01, x0, b1)
        s10 = fma8(s10, x1, b0); s11 = fma8(s11, x1, b1)
        let x2 = V8(repeating: ap[2]), x3 = V8(repeating: ap[3])
        s20 = fma8(s20, x2, b0); s21 = fma8(s21, x2, b1)
        s30 = fma8(s30, x3, b0); s31 = fma8(s31, x3, b1)
        ap += lda; bp += ldb
    }
    storePartial8(s00, c0, lo); storePartial8(s01, c0 + 8, hi)
    storePartial8(s10, c1, lo); storePartial8(s11, c1 + 8, hi)
    storePartial8(s20, c2, lo); storePartial8(s21, c2 + 8, hi)
    storePartial8(s30, c3, lo); storePartial8(s31, c3 + 8, hi)
}

@inline(__always)
private func blockT1x16(_ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                        _ c: UnsafeMutablePointer<Float>, _ w: Int) {
    // Two sets of sums (even and odd steps): one set alone waits on the FMA latency every step.
    let lo = min(w, 8), hi = w - lo
    var s0 = loadPartial8(c, lo), s1 = loadPartial8(c + 8, hi)
    var t0 = V8(), t1 = V8()
    var ap = a, bp = b
    var p = 0
    while p + 2 <= k {
        let x = V8(repeating: ap[0]), y = V8(repeating: ap[lda])
        s0 = fma8(s0, x, loadPartial8(bp, lo)); s1 = fma8(s1, x, loadPartial8(bp + 8, hi))
        t0 = fma8(t0, y, loadPartial8(bp + ldb, lo)); t1 = fma8(t1, y, loadPartial8(bp + ldb + 8, hi))
        ap += 2 * lda; bp += 2 * ldb
        p += 2
    }
    if p < k {
        let x = V8(repeating: ap[0])
        s0 = fma8(s0, x, loadPartial8(bp, lo)); s1 = fma8(s1, x, loadPartial8(bp + 8, hi))
    }
    storePartial8(s0 + t0, c, lo); storePartial8(s1 + t1, c + 8, hi)
}
