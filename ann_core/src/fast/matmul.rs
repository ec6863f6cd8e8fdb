//! C = A B into a preallocated C, fast for the small products of mini-batch training.
//!
//! ndarray's `general_mat_mul` (matrixmultiply) packs A and B into blocks before every
//! product. That pays off for big matrices, but a step of a [2, 64, 32, 1] network on batches
//! of 64 multiplies (32 × 64) by (64 × 64)
//! at most, and there the packing costs about as much as the arithmetic. [`matmul_into`]
//! computes small products straight from the arrays, with AVX-512 register tiles when the
//! CPU has AVX-512, and hands everything else to `general_mat_mul`.
//!
//! A tile of 4 rows × 32 columns of C stays in 16 vector registers while k runs:
//! C[i, j:j+32] = Σ_k A[i, k] B[k, j:j+32], one fused multiply-add per k, in order, from 0,
//! in blocks of 256 values of k added up one after the other. That is exactly what
//! matrixmultiply's AVX-512 kernel computes (its k-blocks are 256 long for f64), so both give
//! the same bits and the fast path keeps the reference's numbers. B must have contiguous
//! rows; otherwise (B = A[l−1]ᵀ in dW[l] = dZ[l] A[l−1]ᵀ) it is first copied, transposed,
//! into a reused scratch buffer.

use super::real::Real;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// Products with at most this many multiply-adds (m · n · k) take the direct kernel: above
/// it, matrixmultiply's packing is worth its cost (measured on [2, 64, 32, 1] with batches of 64
/// and [784, 256, 128, 10] with batches of 128).
pub(crate) const DIRECT_MAX_WORK: usize = 1 << 21;

/// A products whose A has at most this many rows and entries take the direct kernel at any
/// size when B's rows are contiguous: A stays in the core's cache while B streams through
/// once, so packing B (a copy of all of it) would only add memory traffic. These are the
/// products of a convolutional layer, W (F × C·k·k) times the patch matrix and Wᵀ times dZ,
/// whose B has hundreds of thousands of columns.
const STREAM_MAX_ROWS: usize = 64;
const STREAM_MAX_A: usize = 1 << 15;

/// C = A B (C is overwritten). Shapes must agree: A (m × k), B (k × n), C (m × n).
/// `scratch` holds a row-major copy of B when B's rows are not contiguous; it grows to the
/// largest such B and is then reused, so steady-state training does not allocate. `split`:
/// whether a big product may use a second core (not when the caller already runs on two).
/// In f32 the kernel's tiles hold 16 lanes instead of 8: the same code (`avx512::Lanes`).
pub(crate) fn matmul_into<F: Direct>(
    a: ArrayView2<F>,
    b: ArrayView2<F>,
    c: ArrayViewMut2<F>,
    scratch: &mut Vec<F>,
    split: bool,
) {
    debug_assert_eq!(a.ncols(), b.nrows());
    debug_assert_eq!(c.dim(), (a.nrows(), b.ncols()));
    let contiguous_rows = |x: &ArrayView2<F>| x.strides()[1] == 1 || x.ncols() <= 1;
    #[cfg(target_arch = "x86_64")]
    if a.nrows() <= STREAM_MAX_ROWS
        && a.len() <= STREAM_MAX_A
        && contiguous_rows(&b)
        && (c.strides()[1] == 1 || c.ncols() <= 1)
        && std::arch::is_x86_feature_detected!("avx512f")
    {
        let work = a.nrows() * b.ncols() * a.ncols();
        if split && work >= SPLIT_MIN_WORK && super::threads::cores() >= 2 && b.ncols() >= 64 {
            // Left columns of C here, right ones on another core: each entry is computed
            // exactly as in one call.
            let mid = (b.ncols() / 2).next_multiple_of(32);
            let (b_left, b_right) = b.split_at(ndarray::Axis(1), mid);
            let (c_left, c_right) = c.split_at(ndarray::Axis(1), mid);
            // SAFETY (both): AVX-512F is available; shapes agree; B's and C's rows are contiguous.
            super::threads::join(
                || unsafe { avx512::ab(a, b_left, c_left) },
                || unsafe { avx512::ab(a, b_right, c_right) },
            );
        } else {
            // SAFETY: as above.
            unsafe { avx512::ab(a, b, c) };
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if a.nrows() * b.ncols() * a.ncols() <= DIRECT_MAX_WORK
        && (c.strides()[1] == 1 || c.ncols() <= 1)
        && std::arch::is_x86_feature_detected!("avx512f")
    {
        // SAFETY (all three): AVX-512F is available; shapes agree; the rows of the second
        // factor and of the product are contiguous.
        if contiguous_rows(&b) {
            unsafe { avx512::ab(a, b, c) };
        } else if a.nrows() == 1 {
            // Cᵀ = Bᵀ Aᵀ, Aᵀ one column: the same multiply-adds in the same order, no copy.
            unsafe { avx512::ab(b.reversed_axes(), a.reversed_axes(), c.reversed_axes()) };
        } else {
            let len = b.len();
            if scratch.len() < len {
                scratch.resize(len, F::of(0.0));
            }
            let copy = &mut scratch[..len];
            unsafe {
                F::copy_rows(b, copy);
                avx512::ab(a, ArrayView2::from_shape(b.dim(), copy).expect("k · n entries"), c);
            }
        }
        return;
    }
    let _ = scratch;
    matmul_packed(a, b, c, split);
}

/// C = A B through ndarray's `general_mat_mul` (matrixmultiply, or BLAS with `blas`), at
/// either precision: in the default build a big product is split in two halves of rows of C,
/// one per core. Each entry is computed exactly as in one call, so the bits do not change.
pub(crate) fn matmul_packed<F: Real>(a: ArrayView2<F>, b: ArrayView2<F>, c: ArrayViewMut2<F>, split: bool) {
    let mut c = c;
    if super::threads::OWN_THREADS
        && split
        && a.nrows() * b.ncols() * a.ncols() >= SPLIT_MIN_WORK
        && a.nrows() >= 16
        && super::threads::cores() >= 2
    {
        // Top rows of C here, bottom rows on another core.
        let mid = (a.nrows() / 2).next_multiple_of(8);
        let (a_top, a_bottom) = a.split_at(ndarray::Axis(0), mid);
        let (mut c_top, mut c_bottom) = c.split_at(ndarray::Axis(0), mid);
        super::threads::join(
            || general_mat_mul(F::one(), &a_top, &b, F::zero(), &mut c_top),
            move || general_mat_mul(F::one(), &a_bottom, &b, F::zero(), &mut c_bottom),
        );
        return;
    }
    general_mat_mul(F::one(), &a, &b, F::zero(), &mut c);
}

/// A dense layer's two backward products, dW[l] = dZ[l] A[l−1]ᵀ and (below the first layer)
/// dA[l−1] = W[l]ᵀ dZ[l]: both need only dZ[l], so when both are big (above the direct
/// kernel's size) they run at the same time, one per core, in the default build (the other
/// builds' products are multi-threaded already).
pub(crate) fn dense_backward_products<F: Direct>(
    w: ArrayView2<F>,
    dz: ArrayView2<F>,
    a_prev: ArrayView2<F>,
    mut dw: ArrayViewMut2<F>,
    da: Option<ArrayViewMut2<F>>,
    scratch: &mut Vec<F>,
) {
    let both_big = |da: &ArrayViewMut2<F>| {
        super::threads::OWN_THREADS
            && dw.len() * dz.ncols() > DIRECT_MAX_WORK
            && da.len() * dz.nrows() > DIRECT_MAX_WORK
            && super::threads::cores() >= 2
    };
    match da {
        Some(mut da) if both_big(&da) => {
            // Both products are above the direct kernel's size: no scratch is used.
            super::threads::join(
                || matmul_into(w.t(), dz, da.view_mut(), scratch, false),
                || matmul_into(dz, a_prev.t(), dw.view_mut(), &mut Vec::new(), false),
            );
        }
        Some(da) => {
            matmul_into(dz, a_prev.t(), dw.view_mut(), scratch, true);
            matmul_into(w.t(), dz, da, scratch, true);
        }
        None => matmul_into(dz, a_prev.t(), dw, scratch, true),
    }
}

/// The precisions the direct kernel computes in (f64 and f32).
#[cfg(target_arch = "x86_64")]
pub(crate) trait Direct: Real + avx512::Lanes {
    /// `dst` = B in row-major order (see `matmul_into`). Needs AVX-512F.
    unsafe fn copy_rows(b: ArrayView2<Self>, dst: &mut [Self]);
}

/// The precisions the direct kernel computes in (none without x86-64: every product packs).
#[cfg(not(target_arch = "x86_64"))]
pub(crate) trait Direct: Real {}

#[cfg(target_arch = "x86_64")]
impl Direct for f64 {
    unsafe fn copy_rows(b: ArrayView2<f64>, dst: &mut [f64]) {
        // SAFETY: the caller checked AVX-512F; dst has b.len() entries.
        unsafe { avx512::copy_rows(b, dst) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Direct for f32 {
    /// Entry by entry (the f64 gather's 8 lanes would need a second kernel for 16).
    unsafe fn copy_rows(b: ArrayView2<f32>, dst: &mut [f32]) {
        ArrayViewMut2::from_shape(b.dim(), dst).expect("k · n entries").assign(&b);
    }
}

#[cfg(not(target_arch = "x86_64"))]
impl Direct for f64 {}
#[cfg(not(target_arch = "x86_64"))]
impl Direct for f32 {}

/// Whether this CPU runs the direct kernel (AVX-512F), which [`matmul_acc_into`] needs.
pub(crate) fn direct_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// C += A B, continuing a longer product: C holds the sum of the first k₀ terms of each
/// entry (k₀ a multiple of 256), and the terms of A B are its terms k₀.. in order, added to
/// C in blocks of 256, as the direct kernel (and matrixmultiply) add them within one call.
/// So a product over k computed in slices of k, each a multiple of 256 long but the last,
/// has the bits of one call. Needs [`direct_kernel`]; B and C with contiguous rows.
pub(crate) fn matmul_acc_into<F: Direct>(a: ArrayView2<F>, b: ArrayView2<F>, c: ArrayViewMut2<F>) {
    debug_assert!(direct_kernel());
    debug_assert_eq!(a.ncols(), b.nrows());
    debug_assert_eq!(c.dim(), (a.nrows(), b.ncols()));
    debug_assert!(b.strides()[1] == 1 || b.ncols() <= 1);
    debug_assert!(c.strides()[1] == 1 || c.ncols() <= 1);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller checked `direct_kernel`; shapes agree; B's and C's rows are contiguous.
    unsafe {
        avx512::ab_acc(a, b, c)
    }
}

/// In the default build (whose matrixmultiply runs on one thread), products of at least this
/// many multiply-adds are split across two cores: Z[1] and dW[1] of a 784 → 256 layer on
/// batches of 128 (25.7M each), not the 4.2M of a 256 → 128 layer, where starting a thread
/// costs about what it saves.
const SPLIT_MIN_WORK: usize = 1 << 23;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use ndarray::{ArrayView2, ArrayViewMut2};
    use std::arch::x86_64::*;

    /// Vectors per row of a C tile (32 f64 or 64 f32 columns), but for narrow C.
    const NV: usize = 4;
    /// matrixmultiply's k-block (`D_KC` for f64, `S_KC` for f32, both 256): sums over k
    /// restart from 0 every KC values and are added to C block after block, as there.
    const KC: usize = 256;

    /// A precision's AVX-512 vector: 8 f64 or 16 f32 lanes, with the operations of a tile. The
    /// tiles below are written once over it.
    pub(crate) trait Lanes: Copy + 'static {
        /// The vector.
        type V: Copy;
        /// A mask with one bit per lane.
        type M: Copy;
        /// Lanes per vector.
        const L: usize;
        /// Mask of the first `n` lanes (all of them when n ≥ L).
        fn lanes(n: usize) -> Self::M;
        /// All lanes 0.
        unsafe fn zero() -> Self::V;
        /// All lanes x.
        unsafe fn splat(x: Self) -> Self::V;
        /// The lanes of `mask` from `p`, 0 in the others.
        unsafe fn load(mask: Self::M, p: *const Self) -> Self::V;
        /// The lanes of `mask` to `p`.
        unsafe fn store(p: *mut Self, mask: Self::M, v: Self::V);
        /// a · b + c, one rounding.
        unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
        /// a + b.
        unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    }

    impl Lanes for f64 {
        type V = __m512d;
        type M = __mmask8;
        const L: usize = 8;
        fn lanes(n: usize) -> __mmask8 {
            if n >= 8 { 0xff } else { ((1u16 << n) - 1) as __mmask8 }
        }
        #[inline(always)]
        unsafe fn zero() -> __m512d {
            // SAFETY (here and below): the caller runs with AVX-512F; pointers are in bounds
            // for the unmasked lanes.
            unsafe { _mm512_setzero_pd() }
        }
        #[inline(always)]
        unsafe fn splat(x: f64) -> __m512d {
            unsafe { _mm512_set1_pd(x) }
        }
        #[inline(always)]
        unsafe fn load(mask: __mmask8, p: *const f64) -> __m512d {
            unsafe { _mm512_maskz_loadu_pd(mask, p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f64, mask: __mmask8, v: __m512d) {
            unsafe { _mm512_mask_storeu_pd(p, mask, v) }
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m512d, b: __m512d, c: __m512d) -> __m512d {
            unsafe { _mm512_fmadd_pd(a, b, c) }
        }
        #[inline(always)]
        unsafe fn add(a: __m512d, b: __m512d) -> __m512d {
            unsafe { _mm512_add_pd(a, b) }
        }
    }

    impl Lanes for f32 {
        type V = __m512;
        type M = __mmask16;
        const L: usize = 16;
        fn lanes(n: usize) -> __mmask16 {
            if n >= 16 { 0xffff } else { ((1u32 << n) - 1) as __mmask16 }
        }
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            // SAFETY: as for f64.
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(mask: __mmask16, p: *const f32) -> __m512 {
            unsafe { _mm512_maskz_loadu_ps(mask, p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, mask: __mmask16, v: __m512) {
            unsafe { _mm512_mask_storeu_ps(p, mask, v) }
        }
        #[inline(always)]
        unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }
    }

    /// C = A B; B and C have contiguous rows, A any strides.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn ab<T: Lanes>(a: ArrayView2<T>, b: ArrayView2<T>, c: ArrayViewMut2<T>) {
        // SAFETY: forwarded.
        unsafe { ab_any::<T, false>(a, b, c) }
    }

    /// C += A B, the sums over k added to C block after block (see [`super::matmul_acc_into`]).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn ab_acc<T: Lanes>(a: ArrayView2<T>, b: ArrayView2<T>, c: ArrayViewMut2<T>) {
        // SAFETY: forwarded.
        unsafe { ab_any::<T, true>(a, b, c) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn ab_any<T: Lanes, const ACC: bool>(a: ArrayView2<T>, b: ArrayView2<T>, c: ArrayViewMut2<T>) {
        // SAFETY: forwarded.
        unsafe {
            if b.ncols() <= T::L {
                // Narrow C (dW[1] = dZ[1] Xᵀ has n_x columns): one vector per row, more rows.
                ab_tiles::<T, 8, 1, ACC>(a, b, c)
            } else if b.ncols() <= 2 * T::L {
                // 16 columns of f64 (a layer of 16 filters), 32 of f32: two vectors per row.
                ab_tiles::<T, 8, 2, ACC>(a, b, c)
            } else {
                ab_tiles::<T, 4, NV, ACC>(a, b, c)
            }
        }
    }

    /// C = A B in tiles of MR rows × NW vectors (and single rows at the bottom edge).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn ab_tiles<T: Lanes, const MR: usize, const NW: usize, const ACC: bool>(
        a: ArrayView2<T>,
        b: ArrayView2<T>,
        mut c: ArrayViewMut2<T>,
    ) {
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        let (ars, acs) = (a.strides()[0], a.strides()[1]);
        let (brs, crs) = (b.strides()[0], c.strides()[0]);
        let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let mut j = 0;
        while j < n {
            let w = (n - j).min(NW * T::L);
            let masks: [T::M; NW] = std::array::from_fn(|v| T::lanes(w.saturating_sub(v * T::L)));
            let mut i = 0;
            while i < m {
                let rows = if i + MR <= m { MR } else { 1 };
                // SAFETY: rows i..i+rows ≤ m, columns j..j+w ≤ n; masked lanes are not touched.
                unsafe {
                    let (a, c) = (pa.offset(i as isize * ars), pc.offset(i as isize * crs).add(j));
                    let b = pb.add(j);
                    if rows == MR {
                        ab_tile::<T, MR, NW, ACC>(k, a, ars, acs, b, brs, c, crs, masks);
                    } else {
                        ab_tile::<T, 1, NW, ACC>(k, a, ars, acs, b, brs, c, crs, masks);
                    }
                }
                i += rows;
            }
            j += w;
        }
    }

    /// `dst` = B (k × n, any strides) in row-major order: row p of B gathered eight
    /// entries at a time (B = A[l−1]ᵀ in dW = dZ A[l−1]ᵀ: eight rows of A[l−1] per gather).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn copy_rows(b: ArrayView2<f64>, dst: &mut [f64]) {
        let (k, n) = b.dim();
        debug_assert_eq!(dst.len(), k * n);
        let (rs, cs) = (b.strides()[0], b.strides()[1] as i64);
        let step = _mm512_set1_epi64(8 * cs);
        let first = _mm512_set_epi64(7 * cs, 6 * cs, 5 * cs, 4 * cs, 3 * cs, 2 * cs, cs, 0);
        for p in 0..k {
            let row = b.as_ptr().wrapping_offset(p as isize * rs);
            let mut offsets = first;
            let mut j = 0;
            while j < n {
                let mask = <f64 as Lanes>::lanes(n - j);
                // SAFETY: the unmasked lanes are B[p, j..j+8] (in bounds); dst has k · n entries.
                unsafe {
                    let v = _mm512_mask_i64gather_pd::<8>(_mm512_setzero_pd(), mask, offsets, row);
                    _mm512_mask_storeu_pd(dst.as_mut_ptr().add(p * n + j), mask, v);
                }
                offsets = _mm512_add_epi64(offsets, step);
                j += 8;
            }
        }
    }

    /// MR rows × (up to) NW · L columns of C = A B (C += A B, block after block, if ACC).
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn ab_tile<T: Lanes, const MR: usize, const NW: usize, const ACC: bool>(
        k: usize,
        a: *const T,
        ars: isize,
        acs: isize,
        b: *const T,
        brs: isize,
        c: *mut T,
        crs: isize,
        masks: [T::M; NW],
    ) {
        // SAFETY (the whole body): AVX-512F is enabled; every pointer below is in bounds for
        // its unmasked lanes (rows < MR of the tile, p < k, lanes beyond n masked off).
        unsafe {
            let mut sum = [[T::zero(); NW]; MR];
            if ACC {
                for (i, row) in sum.iter_mut().enumerate() {
                    for (v, s) in row.iter_mut().enumerate() {
                        *s = T::load(masks[v], c.offset(i as isize * crs).wrapping_add(v * T::L));
                    }
                }
            }
            let mut k0 = 0;
            while k0 < k || k0 == 0 {
                let mut acc = [[T::zero(); NW]; MR];
                for p in k0 as isize..k.min(k0 + KC) as isize {
                    let bp = b.offset(p * brs);
                    let bv: [T::V; NW] =
                        std::array::from_fn(|v| T::load(masks[v], bp.wrapping_add(v * T::L)));
                    for (i, row) in acc.iter_mut().enumerate() {
                        let av = T::splat(*a.offset(i as isize * ars + p * acs));
                        for (r, &bvv) in row.iter_mut().zip(&bv) {
                            *r = T::fmadd(av, bvv, *r);
                        }
                    }
                }
                for (s, r) in sum.iter_mut().zip(&acc) {
                    for (s, &r) in s.iter_mut().zip(r) {
                        *s = if k0 == 0 && !ACC { r } else { T::add(*s, r) };
                    }
                }
                k0 += KC;
            }
            for (i, row) in sum.iter().enumerate() {
                for (v, &r) in row.iter().enumerate() {
                    T::store(c.offset(i as isize * crs).wrapping_add(v * T::L), masks[v], r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder, s};

    fn filled(rows: usize, cols: usize, seed: u64, f_order: bool) -> Array2<f64> {
        let shape = if f_order { (rows, cols).f() } else { (rows, cols).set_f(false) };
        let mut x = Array2::zeros(shape);
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        x.iter_mut().for_each(|v| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *v = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
        });
        x
    }

    fn avx512() -> bool {
        #[cfg(target_arch = "x86_64")]
        return std::arch::is_x86_feature_detected!("avx512f");
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// C = A B by matrixmultiply itself (what ndarray uses without the `blas` feature).
    fn matrixmultiply_product(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        let ((m, k), n) = (a.dim(), b.ncols());
        let mut c = Array2::zeros((m, n));
        let (sa, sb) = (a.strides(), b.strides());
        // SAFETY: the pointers and strides describe the three arrays; C is m × n standard.
        unsafe {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                sa[0],
                sa[1],
                b.as_ptr(),
                sb[0],
                sb[1],
                0.0,
                c.as_mut_ptr(),
                n as isize,
                1,
            )
        };
        c
    }

    fn check(a: ArrayView2<f64>, b: ArrayView2<f64>) {
        // Small products: the bits of matrixmultiply (the direct kernel sums in its order);
        // big ones are `general_mat_mul`'s, so ndarray's own product in every build.
        let direct = a.nrows() * b.ncols() * a.ncols() <= DIRECT_MAX_WORK && avx512();
        let want = if direct { matrixmultiply_product(a, b) } else { a.dot(&b) };
        let mut got = Array2::from_elem(want.raw_dim(), f64::NAN);
        matmul_into(a, b, got.view_mut(), &mut Vec::new(), true);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.to_bits(), w.to_bits(), "{:?} x {:?}: {g} vs {w}", a.dim(), b.dim());
        }
    }

    #[test]
    fn agrees_with_matrixmultiply_on_every_shape_and_layout() {
        let dims = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 70];
        let mut seed = 0;
        for &m in &dims {
            for &k in &dims {
                for &n in &dims {
                    seed += 1;
                    let (a, b) = (filled(m, k, seed, false), filled(k, n, seed + 7, false));
                    // A B, Aᵀ-strided A, and A Bᵀ with B stored transposed.
                    check(a.view(), b.view());
                    let at = filled(k, m, seed + 11, false);
                    check(at.t(), b.view());
                    let bt = filled(n, k, seed + 13, false);
                    check(a.view(), bt.t());
                    let bf = filled(k, n, seed + 17, true);
                    check(a.view(), bf.view());
                }
            }
        }
    }

    /// In f32 the direct kernel (16 lanes) sums in matrixmultiply's order too: the bits of
    /// its sgemm, on every shape and layout.
    #[test]
    fn in_f32_agrees_with_matrixmultiply_on_every_shape_and_layout() {
        let sgemm = |a: ArrayView2<f32>, b: ArrayView2<f32>| {
            let ((m, k), n) = (a.dim(), b.ncols());
            let mut c = Array2::<f32>::zeros((m, n));
            let (sa, sb) = (a.strides(), b.strides());
            // SAFETY: the pointers and strides describe the three arrays; C is m × n standard.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    sa[0],
                    sa[1],
                    b.as_ptr(),
                    sb[0],
                    sb[1],
                    0.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                )
            };
            c
        };
        let dims = [1, 3, 8, 15, 16, 17, 33, 64, 70, 300];
        let mut seed = 9000;
        let mut direct = 0;
        for &m in &dims {
            for &k in &dims {
                for &n in &dims {
                    seed += 1;
                    let f = |r, c, s, fo| filled(r, c, s, fo).mapv(|v| v as f32);
                    let (a, b, bt) =
                        (f(m, k, seed, false), f(k, n, seed + 1, false), f(n, k, seed + 2, false));
                    for (a, b) in [(a.view(), b.view()), (a.view(), bt.t())] {
                        let want = sgemm(a, b);
                        let mut got = Array2::from_elem(want.raw_dim(), f32::NAN);
                        matmul_into(a, b, got.view_mut(), &mut Vec::new(), true);
                        let same = got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits());
                        assert!(same, "{:?} x {:?}", a.dim(), b.dim());
                        direct += usize::from(m * k * n <= DIRECT_MAX_WORK);
                    }
                }
            }
        }
        assert!(direct > 1000);
    }

    #[test]
    fn long_sums_are_added_block_by_block_like_matrixmultiply() {
        let mut seed = 5000;
        for &k in &[255, 256, 257, 300, 512, 513, 784] {
            for &(m, n) in &[(1, 1), (5, 33), (10, 128), (4, 32)] {
                seed += 1;
                let (a, b) = (filled(m, k, seed, false), filled(k, n, seed + 3, false));
                check(a.view(), b.view());
                let bt = filled(n, k, seed + 5, false);
                check(a.view(), bt.t());
            }
        }
    }

    #[test]
    fn a_product_continued_slice_by_slice_has_the_bits_of_one_call() {
        if !avx512() {
            return;
        }
        for &(m, k, n) in &[(4, 1000, 32), (9, 2600, 16), (13, 777, 5), (3, 256, 40), (25, 50_176, 16)] {
            let (a, b) = (filled(m, k, 60 + k as u64, false), filled(k, n, 70 + n as u64, false));
            let want = matrixmultiply_product(a.view(), b.view());
            let mut got = Array2::from_elem((m, n), f64::NAN);
            let mut k0 = 0;
            while k0 < k {
                let k1 = (k0 + 512).min(k);
                let (a_s, b_s) = (a.slice(s![.., k0..k1]), b.slice(s![k0..k1, ..]));
                if k0 == 0 {
                    matmul_into(a_s, b_s, got.view_mut(), &mut Vec::new(), false);
                } else {
                    matmul_acc_into(a_s, b_s, got.view_mut());
                }
                k0 = k1;
            }
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.to_bits(), w.to_bits(), "{m}×{k}×{n}");
            }
        }
    }

    #[test]
    fn a_product_split_across_two_cores_has_the_bits_of_one_call() {
        // 301 · 256 · 130 ≈ 10M multiply-adds: above SPLIT_MIN_WORK, split where there are two cores.
        let (a, b) = (filled(301, 256, 1, false), filled(256, 130, 2, false));
        check(a.view(), b.view());
        let bt = filled(130, 256, 3, false);
        check(a.view(), bt.t());
    }

    #[test]
    fn works_on_sub_views_and_keeps_the_rest_of_c() {
        let a = filled(20, 40, 1, false);
        let b = filled(40, 50, 2, false);
        let (av, bv) = (a.slice(s![2..18, 3..37]), b.slice(s![3..37, 5..45]));
        check(av, bv);
        let mut c = Array2::from_elem((20, 50), 7.0);
        matmul_into(av, bv, c.slice_mut(s![1..17, 4..44]), &mut Vec::new(), true);
        assert_eq!(c[[0, 0]], 7.0);
        assert_eq!(c[[17, 44]], 7.0);
        assert_eq!(c[[1, 3]], 7.0);
        let want = if avx512() { matrixmultiply_product(av, bv) } else { av.dot(&bv) };
        assert_eq!(c[[1, 4]], want[[0, 0]]);
    }

    #[test]
    fn same_inputs_same_bits() {
        let (a, b) = (filled(33, 65, 3, false), filled(65, 70, 4, false));
        let mut c1 = Array2::zeros((33, 70));
        let mut c2 = Array2::zeros((33, 70));
        matmul_into(a.view(), b.view(), c1.view_mut(), &mut Vec::new(), true);
        matmul_into(a.view(), b.view(), c2.view_mut(), &mut Vec::new(), true);
        assert!(c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}
