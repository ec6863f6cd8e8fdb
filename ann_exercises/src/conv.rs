//! Exercise 7, convolution: a convolutional layer's forward and backward steps written as the
//! loops of the definition (cross-correlation with stride and zero padding), max pooling and
//! its gradient, and im2col, the patch matrix that turns the sums into one product.
//!
//! Everything is in the course's column layout (see [`ann_core::conv`]): an image is one
//! column, pixel (c, h, w) at row (c·H + h)·W + w; W is (F, C·k·k), entry (c, i, j) of filter
//! f in column (c·k + i)·k + j; Z is (F·H′·W′, m), filter after filter.

use crate::grade::{
    Grader, Mistake, attempt, compare, compare_gradients, parts, random, rng, run_mistakes, shape,
};
use crate::report::Report;
use ann_core::conv::{
    conv_backward_loops, conv_forward_loops, im2col as reference_im2col,
    max_pool_backward as reference_unpool, max_pool_forward as reference_pool,
};
use ann_core::{Conv2d, Image, MaxPool2d};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, array};
use rand::rngs::ChaCha8Rng;

/// Z[f, y, x] = b[f] + Σ_c Σ_i Σ_j W[f, c, i, j] · A_pad[c, y·s + i, x·s + j]:
/// `fn conv_forward(conv, w, b, a_prev) -> z`, with W (F, C·k·k), b (F, 1), A_prev (C·H·W, m)
/// and Z (F·H′·W′, m).
pub type ConvForward = fn(&Conv2d, ArrayView2<f64>, ArrayView2<f64>, ArrayView2<f64>) -> Array2<f64>;
/// `fn conv_backward(conv, w, a_prev, dz) -> (dW, db, dA_prev)`: dW (F, C·k·k) and db (F, 1)
/// summed over the examples and positions, dA_prev (C·H·W, m).
pub type ConvBackward =
    fn(&Conv2d, ArrayView2<f64>, ArrayView2<f64>, ArrayView2<f64>) -> (Array2<f64>, Array2<f64>, Array2<f64>);
/// A[c, y, x] = max_{i, j < window} G[c, y·s + i, x·s + j]: `fn max_pool_forward(pool, input, g)
/// -> a`, with G (C·H′·W′, m) holding `input` images and A (C·H″·W″, m).
pub type MaxPoolForward = fn(&MaxPool2d, Image, ArrayView2<f64>) -> Array2<f64>;
/// `fn max_pool_backward(pool, input, g, da) -> dG`: each entry of dA (C·H″·W″, m) goes to the
/// arg-max of its window in G (C·H′·W′, m), found again from G.
pub type MaxPoolBackward = fn(&MaxPool2d, Image, ArrayView2<f64>, ArrayView2<f64>) -> Array2<f64>;
/// cols[(c, i, j), (y, x)] = A_pad[c, y·s + i, x·s + j]: `fn im2col(conv, a) -> cols`, one
/// image `a` (C·H·W entries) to cols (C·k·k, H′·W′), row (c·k + i)·k + j, column y·W′ + x.
pub type Im2col = fn(&Conv2d, ArrayView1<f64>) -> Array2<f64>;

/// ⌊(len + 2p − k)/s⌋ + 1, or 0 when the window does not fit: the output side of a planted
/// mistake, which may use another stride or padding than the layer (so need not divide).
fn side(len: usize, k: usize, s: usize, p: usize) -> usize {
    (len + 2 * p).checked_sub(k).map_or(0, |d| d / s.max(1) + 1)
}

/// Pixel (c, h − shift, w − shift) of example `j` of `a` (C·H·W, m), 0 outside the image: the
/// padded image A_pad[c, h, w] when `shift` is p.
fn pixel(a: ArrayView2<f64>, input: Image, shift: usize, c: usize, h: usize, w: usize, j: usize) -> f64 {
    match (h.checked_sub(shift), w.checked_sub(shift)) {
        (Some(h), Some(w)) if h < input.height && w < input.width => a[[input.row(c, h, w), j]],
        _ => 0.0,
    }
}

/// "C×H×W 2×4×4, 3 filters 3×3, stride 1, padding 1".
fn layer_str(conv: &Conv2d, filters: usize) -> String {
    let k = conv.kernel;
    format!(
        "C×H×W {}, {filters} filter{} {k}×{k}, stride {}, padding {}",
        conv.input,
        if filters == 1 { "" } else { "s" },
        conv.stride,
        conv.padding
    )
}

/// One convolution case: the geometry, W, b and the input images.
struct ConvCase {
    conv: Conv2d,
    w: Array2<f64>,
    b: Array2<f64>,
    a: Array2<f64>,
}

/// A layer without pooling.
fn layer(input: Image, kernel: usize, stride: usize, padding: usize) -> Conv2d {
    Conv2d { input, kernel, stride, padding, pool: None }
}

/// The convolution cases, in an order that lets every planted mistake show before a case it
/// cannot run: 1, by hand: one 3×3 channel (pixels 1..9, and a diagonal of ones), one filter
/// [[1, 2], [3, 4]] (flipped or transposed it differs), b = 0.5; 2, F = C = 2 on a square
/// image with padding 1 (a filter read with f and c swapped still fits, and Z's layout
/// matters); then stride 2 with padding 1 on a non-square image, padding 2, stride 2 without
/// padding, and a 5×5 filter on a 5×5 image.
fn conv_cases(seed: u64) -> Vec<ConvCase> {
    let mut r = rng(seed);
    let first = ConvCase {
        conv: layer(Image::new(1, 3, 3), 2, 1, 0),
        w: array![[1.0, 2.0, 3.0, 4.0]],
        b: array![[0.5]],
        a: Array2::from_shape_fn(
            (9, 2),
            |(q, j)| if j == 0 { (q + 1) as f64 } else { f64::from(q % 4 == 0) },
        ),
    };
    let mut cases = vec![first];
    for (c, h, w, f, k, s, p, m) in [
        (2, 4, 4, 2, 3, 1, 1, 2),
        (3, 5, 7, 2, 3, 2, 1, 2),
        (2, 6, 4, 3, 3, 1, 2, 3),
        (1, 7, 5, 4, 3, 2, 0, 2),
        (2, 5, 5, 2, 5, 1, 2, 2),
    ] {
        let conv = layer(Image::new(c, h, w), k, s, p);
        cases.push(ConvCase {
            conv,
            w: random(f, conv.patch_len(), 1.0, &mut r),
            b: random(f, 1, 0.5, &mut r),
            a: random(conv.input.len(), m, 2.0, &mut r),
        });
    }
    cases
}

/// The one thing a planted mistake of [`conv_forward`] does differently from the definition.
#[derive(Clone, Copy, PartialEq)]
enum Forward {
    /// W[f, c, k−1−i, k−1−j]: a true convolution.
    Flipped,
    /// W[f, c, j, i].
    FilterTransposed,
    /// W[c, f, i, j].
    FilterChannelSwapped,
    /// The window of (y, x) starts at (y, x).
    WindowWithoutStride,
    /// Stride 1 everywhere: the output size too.
    NoStride,
    /// No zeros around the image: the output size too.
    NoPadding,
    /// The size counts the padding, but pixel (h, w) of A_pad is read as pixel (h, w) of A.
    NotShifted,
    /// H′ − 1 and W′ − 1 positions.
    OneTooFew,
    /// No + b.
    NoBias,
    /// Z's row (y·W′ + x)·F + f: position after position.
    PositionMajor,
}

/// The definition's loops with one `mistake`.
fn forward_with(
    conv: &Conv2d,
    w: ArrayView2<f64>,
    b: ArrayView2<f64>,
    a: ArrayView2<f64>,
    mistake: Forward,
) -> Array2<f64> {
    let Conv2d { input, kernel: k, .. } = *conv;
    let s = if mistake == Forward::NoStride { 1 } else { conv.stride };
    let p = if mistake == Forward::NoPadding { 0 } else { conv.padding };
    let shift = if mistake == Forward::NotShifted { 0 } else { p };
    let less = usize::from(mistake == Forward::OneTooFew);
    let out = Image::new(
        w.nrows(),
        side(input.height, k, s, p).saturating_sub(less),
        side(input.width, k, s, p).saturating_sub(less),
    );
    let mut z = Array2::zeros((out.len(), a.ncols()));
    for j in 0..a.ncols() {
        for f in 0..out.channels {
            for y in 0..out.height {
                for x in 0..out.width {
                    let (y0, x0) =
                        if mistake == Forward::WindowWithoutStride { (y, x) } else { (y * s, x * s) };
                    let mut sum = 0.0;
                    for c in 0..input.channels {
                        for i in 0..k {
                            for jj in 0..k {
                                let (fw, cw, iw, jw) = match mistake {
                                    Forward::Flipped => (f, c, k - 1 - i, k - 1 - jj),
                                    Forward::FilterTransposed => (f, c, jj, i),
                                    Forward::FilterChannelSwapped => (c, f, i, jj),
                                    _ => (f, c, i, jj),
                                };
                                sum += w[[fw, (cw * k + iw) * k + jw]]
                                    * pixel(a, input, shift, c, y0 + i, x0 + jj, j);
                            }
                        }
                    }
                    let row = if mistake == Forward::PositionMajor {
                        (y * out.width + x) * out.channels + f
                    } else {
                        out.row(f, y, x)
                    };
                    z[[row, j]] = if mistake == Forward::NoBias { sum } else { sum + b[[f, 0]] };
                }
            }
        }
    }
    z
}

const FLIPPED: &str = "The filter is flipped (a true convolution). | The course's convolution, like every \
                       framework's, is a cross-correlation. Entry (i, j) of a filter multiplies the pixel i rows \
                       down and j columns right of the window's corner, with no reversal.";
const FILTER_TRANSPOSED: &str = "The filter's rows and columns are swapped. | i runs down the window with the image's \
                                 rows, j along it with the columns, and a filter's entries are stored channel \
                                 first, then row i, then column j.";
const NO_STRIDE: &str = "The stride is left out. | The output size equation divides by s, and the window of \
                         position (y, x) starts s rows and s columns further for each step of y and x.";
const WINDOW_WITHOUT_STRIDE: &str = "The output size is right but the windows do not move by the stride. | \
                                     position (y, x) reads the window whose corner is s pixels further for each \
                                     step of y and of x. Look at where your window starts.";
const NO_PADDING: &str = "The padding is left out. | p rows and columns of zeros surround every channel, so the \
                          output size equation has H + 2p, and windows at the border reach into the zeros.";
const NOT_SHIFTED: &str = "The zeros of the padding are only at the bottom and right. | They surround the image on \
                           every side, so the padded image's first p rows and columns are zeros and its row p is \
                           the image's row 0. Shift by p when you read a pixel.";
const ONE_TOO_FEW: &str = "The output is one row and one column short. | Count the positions with the output \
                           size equation, whose + 1 counts the first window.";
const ONE_TOO_MANY: &str = "The output is one row and one column too large. | Count the positions with the output \
                            size equation; the last window must still fit inside the padded image.";

/// [`conv_forward`]'s planted mistakes.
const CONV_FORWARD: &[Mistake<ConvForward>] = &[
    Mistake {
        name: "flipped",
        hint: FLIPPED,
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::Flipped),
    },
    Mistake {
        name: "filter transposed",
        hint: FILTER_TRANSPOSED,
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::FilterTransposed),
    },
    Mistake {
        name: "filter and channel swapped",
        hint: "Filter and channel are swapped. | Row f of W is filter f, and its C·k·k columns run over the \
               input's channels. Take the weight from filter f's row, at channel c.",
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::FilterChannelSwapped),
    },
    Mistake {
        name: "window without stride",
        hint: WINDOW_WITHOUT_STRIDE,
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::WindowWithoutStride),
    },
    Mistake {
        name: "no stride",
        hint: NO_STRIDE,
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::NoStride),
    },
    Mistake {
        name: "no padding",
        hint: NO_PADDING,
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::NoPadding),
    },
    Mistake {
        name: "padding not shifted",
        hint: NOT_SHIFTED,
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::NotShifted),
    },
    Mistake {
        name: "one position short",
        hint: ONE_TOO_FEW,
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::OneTooFew),
    },
    Mistake {
        name: "no bias",
        hint: "The bias is missing. | Filter f's one bias b[f] is added at every position of its output.",
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::NoBias),
    },
    Mistake {
        name: "position major",
        hint: "Z's rows are in the wrong order. | A column of Z is an F × H′ × W′ image, filter after filter \
               (all H′·W′ positions of filter 0 first), each filter's output row by row. Image::row of the \
               output image gives the row.",
        wrong: |c, w, b, a| forward_with(c, w, b, a, Forward::PositionMajor),
    },
];

/// A hint from the shape of a Z that has the rows of a wrong output size (F·H′·W′ for
/// another H′ and W′) and m columns, whatever its values: the stride or the padding left out
/// of the size, or a size off by one either way.
fn size_hint(conv: &Conv2d, filters: usize, got: (usize, usize), m: usize) -> Option<&'static str> {
    let Conv2d { input, kernel: k, stride: s, padding: p, .. } = *conv;
    let (h, w) = (side(input.height, k, s, p), side(input.width, k, s, p));
    let sizes = [
        (s > 1, side(input.height, k, 1, p), side(input.width, k, 1, p), NO_STRIDE),
        (p > 0, side(input.height, k, s, 0), side(input.width, k, s, 0), NO_PADDING),
        (true, h.saturating_sub(1), w.saturating_sub(1), ONE_TOO_FEW),
        (true, h + 1, w + 1, ONE_TOO_MANY),
    ];
    let rows = got.0;
    (got.1 == m)
        .then(|| sizes.into_iter().find(|&(applies, hh, ww, _)| applies && rows == filters * hh * ww))
        .flatten()
        .map(|(.., hint)| hint)
}

/// Checks Z[f, y, x] = b[f] + Σ_c Σ_i Σ_j W[f, c, i, j] · A_pad[c, y·s + i, x·s + j] for every
/// example, filter f and position y < H′ = (H + 2p − k)/s + 1, x < W′ (a cross-correlation:
/// the filter is not flipped), against [`conv_forward_loops`]; Z is (F·H′·W′, m), row
/// (f·H′ + y)·W′ + x.
pub fn conv_forward(f: ConvForward) -> Report {
    let cases: Vec<_> = conv_cases(81)
        .into_iter()
        .filter_map(|case| {
            let z = conv_forward_loops(&case.conv, case.w.view(), case.b.view(), case.a.view()).ok()?;
            Some((case, z))
        })
        .collect();
    let mut g = Grader::new("conv_forward", cases.len());
    for (ConvCase { conv, w, b, a }, expected) in &cases {
        let inputs = || {
            format!(
                "{}: W {}, b {}, A_prev {}",
                layer_str(conv, w.nrows()),
                shape(w.view()),
                shape(b.view()),
                shape(a.view())
            )
        };
        let call = |f: ConvForward| f(conv, w.view(), b.view(), a.view());
        let wrong = run_mistakes(CONV_FORWARD, call);
        let check = |got: Array2<f64>| {
            compare(expected.view(), got.view(), &parts(&wrong, Some)).map_err(|mut wrong| {
                if wrong.hint.is_none() {
                    wrong.hint = size_hint(conv, w.nrows(), got.dim(), a.ncols()).map(str::to_string);
                }
                wrong
            })
        };
        if let Err(report) = g.case(inputs, attempt(|| call(f)), check) {
            return report;
        }
    }
    g.finish()
}

/// The one thing a planted mistake of [`conv_backward`] does differently from the definition.
#[derive(Clone, Copy, PartialEq)]
enum Backward {
    /// dW / m.
    DwOverM,
    /// dW of the last example only (overwritten example after example).
    DwLastExample,
    /// dW of the last position only, summed over the examples.
    DwLastPosition,
    /// dW = one term: overwritten at every position and example.
    DwOneTerm,
    /// dW[f, c, j, i] += ... .
    DwTransposed,
    /// db summed over the examples only: (F·H′·W′, 1).
    DbPerPosition,
    /// db / m.
    DbOverM,
    /// dA with W[f, c, k−1−i, k−1−j].
    DaFlipped,
    /// dA_pad cut at its top left instead of without its border.
    DaTopLeft,
    /// dA_pad's entries overwritten instead of added.
    DaOverwritten,
    /// The window of (y, x) starts at (y, x).
    WindowWithoutStride,
    /// Pixel (h, w) of A_pad taken as pixel (h, w) of A, in dW and dA.
    NotShifted,
}

/// The definition's backward loops with one `mistake`: (dW, db, dA_prev).
fn backward_with(
    conv: &Conv2d,
    w: ArrayView2<f64>,
    a: ArrayView2<f64>,
    dz: ArrayView2<f64>,
    mistake: Backward,
) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    use Backward as B;
    let Conv2d { input, kernel: k, stride: s, padding: p, .. } = *conv;
    let out = conv.conv_output(w.nrows());
    let m = a.ncols();
    let last = (out.height.saturating_sub(1), out.width.saturating_sub(1));
    let read_shift = if mistake == B::NotShifted { 0 } else { p };
    let write_shift = if matches!(mistake, B::NotShifted | B::DaTopLeft) { 0 } else { p };
    let (mut dw, mut db, mut da) =
        (Array2::zeros(w.dim()), Array2::zeros((out.channels, 1)), Array2::zeros(a.dim()));
    for j in 0..m {
        let mut dw_j = Array2::zeros(w.dim());
        for f in 0..out.channels {
            for y in 0..out.height {
                for x in 0..out.width {
                    let g = dz[[out.row(f, y, x), j]];
                    db[[f, 0]] += g;
                    let (y0, x0) = if mistake == B::WindowWithoutStride { (y, x) } else { (y * s, x * s) };
                    for c in 0..input.channels {
                        for i in 0..k {
                            for jj in 0..k {
                                let col = (c * k + i) * k + jj;
                                let term = g * pixel(a, input, read_shift, c, y0 + i, x0 + jj, j);
                                match mistake {
                                    B::DwOneTerm => dw_j[[f, col]] = term,
                                    B::DwLastPosition if (y, x) != last => {}
                                    B::DwTransposed => dw_j[[f, (c * k + jj) * k + i]] += term,
                                    _ => dw_j[[f, col]] += term,
                                }
                                let w_col = if mistake == B::DaFlipped {
                                    (c * k + k - 1 - i) * k + k - 1 - jj
                                } else {
                                    col
                                };
                                let (h, v) =
                                    ((y0 + i).checked_sub(write_shift), (x0 + jj).checked_sub(write_shift));
                                if let (Some(h), Some(v)) = (h, v)
                                    && h < input.height
                                    && v < input.width
                                {
                                    let r = input.row(c, h, v);
                                    let back = w[[f, w_col]] * g;
                                    if mistake == B::DaOverwritten {
                                        da[[r, j]] = back
                                    } else {
                                        da[[r, j]] += back
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if matches!(mistake, B::DwLastExample | B::DwOneTerm) {
            dw = dw_j;
        } else {
            dw += &dw_j;
        }
    }
    match mistake {
        B::DwOverM => dw /= m as f64,
        B::DbPerPosition => db = dz.sum_axis(Axis(1)).insert_axis(Axis(1)),
        B::DbOverM => db /= m as f64,
        _ => {}
    }
    (dw, db, da)
}

/// [`conv_backward`]'s planted mistakes. Each is made the way a learner's loops would make
/// it, in every output it touches; the grader names the first of dW, db and dA_prev that
/// differs.
const CONV_BACKWARD: &[Mistake<ConvBackward>] = &[
    Mistake {
        name: "dW: 1/m",
        hint: "dW is summed over the examples, with no 1/m. | The gradient of the sum for the dZ given (a \
               network's mean over m comes with dZ).",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DwOverM),
    },
    Mistake {
        name: "dW: last example",
        hint: "dW holds the last example's terms only. | The filters are the same for every example, so dW adds \
               up the terms of all m of them. Accumulate across the loop over the examples; don't restart \
               or overwrite.",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DwLastExample),
    },
    Mistake {
        name: "dW: last position",
        hint: "dW holds one output position's terms only. | A filter is shared by every position (y, x), so dW \
               adds dZ times the pixel the filter entry met, at every position of the output.",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DwLastPosition),
    },
    Mistake {
        name: "dW: one term",
        hint: "dW holds a single term. | Each of its entries is a sum over the examples and over all positions \
               (y, x). Add every term instead of assigning it.",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DwOneTerm),
    },
    Mistake {
        name: "dW: filter transposed",
        hint: "dW's filters have their rows and columns swapped. | The term of entry (c, i, j) goes to the same \
               column of dW as that entry has in W (channel, then row i, then column j).",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DwTransposed),
    },
    Mistake {
        name: "db: per position",
        hint: "db has one entry per filter, shape (F, 1). | b[f] is added at every position of filter f's output, \
               so db[f] sums dZ over the examples and over those H′·W′ positions.",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DbPerPosition),
    },
    Mistake {
        name: "db: 1/m",
        hint: "db is summed over the examples, with no 1/m (like dW).",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DbOverM),
    },
    Mistake {
        name: "dA: flipped",
        hint: "dA_prev uses a flipped filter. | The pixel that W[f, c, i, j] multiplied in the forward sum gets \
               back dZ[f, y, x] times that same weight (the \"flipped kernel\" of the textbooks is this sum \
               seen from the pixel, not a flip to apply in these loops).",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DaFlipped),
    },
    Mistake {
        name: "dA: cut at the top left",
        hint: "dA_prev is cut from the wrong part of the padded gradient. | Drop the p rows and columns of \
               padding on every side (top and left too), or shift by p when you add to a pixel.",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DaTopLeft),
    },
    Mistake {
        name: "dA: overwritten",
        hint: "A pixel lies in several windows (they overlap when s < k) and feeds every filter. | dA_prev adds up \
               the terms of all of them instead of keeping the last one.",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::DaOverwritten),
    },
    Mistake {
        name: "window without stride",
        hint: "The windows do not move by the stride. | The term of position (y, x) met the window whose corner is \
               s pixels further for each step of y and of x. Use the pixels of the forward sum.",
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::WindowWithoutStride),
    },
    Mistake {
        name: "padding not shifted",
        hint: NOT_SHIFTED,
        wrong: |c, w, a, dz| backward_with(c, w, a, dz, Backward::NotShifted),
    },
];

/// Checks, against [`conv_backward_loops`], the sums of the backward step for a given
/// dZ = ∂J/∂Z (F·H′·W′, m), with no 1/m:
///
/// dW[f, c, i, j] = Σ_examples Σ_y Σ_x dZ[f, y, x] · A_pad[c, y·s + i, x·s + j],
/// db[f] = Σ_examples Σ_y Σ_x dZ[f, y, x],
/// dA_pad[c, y·s + i, x·s + j] += W[f, c, i, j] · dZ[f, y, x] for every f, y, x, i, j,
///
/// and dA_prev is dA_pad without its border of padding. The learner returns (dW, db, dA_prev);
/// they are compared in that order.
pub fn conv_backward(f: ConvBackward) -> Report {
    let mut r = rng(82);
    let cases: Vec<_> = conv_cases(83)
        .into_iter()
        .enumerate()
        .filter_map(|(n, case)| {
            let out = case.conv.conv_output(case.w.nrows());
            let dz = if n == 0 {
                // By hand: the four positions of the 2×2 output, for the two examples.
                array![[1.0, 0.0], [2.0, 1.0], [0.0, -1.0], [1.0, 1.0]]
            } else {
                random(out.len(), case.a.ncols(), 1.0, &mut r)
            };
            let grads = conv_backward_loops(&case.conv, case.w.view(), case.a.view(), dz.view()).ok()?;
            Some((case, dz, grads.dw, grads.db, grads.da_prev?))
        })
        .collect();
    let mut g = Grader::new("conv_backward", cases.len());
    for (ConvCase { conv, w, a, .. }, dz, dw, db, da) in &cases {
        let inputs = || {
            format!(
                "{}: W {}, A_prev {}, dZ {}",
                layer_str(conv, w.nrows()),
                shape(w.view()),
                shape(a.view()),
                shape(dz.view())
            )
        };
        let call = |f: ConvBackward| f(conv, w.view(), a.view(), dz.view());
        let wrong = run_mistakes(CONV_BACKWARD, call);
        let check = |got| compare_gradients((dw, db, da), got, &wrong);
        if let Err(report) = g.case(inputs, attempt(|| call(f)), check) {
            return report;
        }
    }
    g.finish()
}

/// "2×4×4 maps, 2×2 windows, stride 2".
fn pool_str(pool: &MaxPool2d, input: Image) -> String {
    format!("{input} maps, {w}×{w} windows, stride {}", pool.stride, w = pool.window)
}

/// (H′ − window)/s + 1, or 0 when the window does not fit.
fn pool_side(len: usize, pool: &MaxPool2d) -> usize {
    len.checked_sub(pool.window).map_or(0, |d| d / pool.stride.max(1) + 1)
}

/// The pixels of window (y, x) of channel c, as rows of G, row by row: the order in which a
/// tie goes to the first maximum.
fn window_rows(pool: &MaxPool2d, input: Image, c: usize, y0: usize, x0: usize) -> Vec<usize> {
    (0..pool.window)
        .flat_map(|i| (0..pool.window).map(move |jj| (i, jj)))
        .filter(|&(i, jj)| y0 + i < input.height && x0 + jj < input.width)
        .map(|(i, jj)| input.row(c, y0 + i, x0 + jj))
        .collect()
}

/// One pooling case: the pooling, the image of each column of G, and G.
struct PoolCase {
    pool: MaxPool2d,
    input: Image,
    g: Array2<f64>,
}

/// The fixed case, by hand: one 4×4 map with 2×2 windows, stride 2; window (1, 0) has two
/// maxima (2) and window (1, 1) three (7), its maxima differ from window to window and its
/// output [[4, 5], [2, 7]] is not symmetric.
fn pool_by_hand() -> PoolCase {
    let g = array![1.0, 3.0, 2.0, 0.0, 4.0, 2.0, 1.0, 5.0, 0.0, 1.0, 7.0, 7.0, 2.0, 2.0, 7.0, 3.0];
    PoolCase { pool: MaxPool2d::new(2), input: Image::new(1, 4, 4), g: g.insert_axis(Axis(1)) }
}

/// Seeded pooling cases of (C, H′, W′, window, stride, m); `ties` rounds G to halves, so that
/// windows often hold several maxima.
fn pool_cases(
    shapes: &[(usize, usize, usize, usize, usize, usize)],
    ties: bool,
    r: &mut ChaCha8Rng,
) -> Vec<PoolCase> {
    shapes
        .iter()
        .map(|&(c, h, w, window, stride, m)| {
            let input = Image::new(c, h, w);
            let g = random(input.len(), m, 1.0, r);
            PoolCase {
                pool: MaxPool2d { window, stride },
                input,
                g: if ties { g.mapv(|v| (2.0 * v).round() / 2.0) } else { g },
            }
        })
        .collect()
}

/// The one thing a planted mistake of [`max_pool_forward`] does differently.
#[derive(Clone, Copy, PartialEq)]
enum Pool {
    /// The mean of the window.
    Average,
    /// The window of (y, x) starts at (y, x).
    WindowWithoutStride,
    /// A's channels stored column by column: row (c·W″ + x)·H″ + y.
    Transposed,
    /// H″ − 1 and W″ − 1 positions.
    OneTooFew,
}

/// Max pooling with one `mistake`.
fn pool_with(pool: &MaxPool2d, input: Image, g: ArrayView2<f64>, mistake: Pool) -> Array2<f64> {
    let less = usize::from(mistake == Pool::OneTooFew);
    let (h, w) = (
        pool_side(input.height, pool).saturating_sub(less),
        pool_side(input.width, pool).saturating_sub(less),
    );
    let out = Image::new(input.channels, h, w);
    let s = pool.stride;
    let mut a = Array2::zeros((out.len(), g.ncols()));
    for j in 0..g.ncols() {
        for c in 0..out.channels {
            for y in 0..h {
                for x in 0..w {
                    let (y0, x0) = if mistake == Pool::WindowWithoutStride { (y, x) } else { (y * s, x * s) };
                    let values: Vec<f64> =
                        window_rows(pool, input, c, y0, x0).iter().map(|&r| g[[r, j]]).collect();
                    let value = if mistake == Pool::Average {
                        values.iter().sum::<f64>() / values.len().max(1) as f64
                    } else {
                        values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                    };
                    let row =
                        if mistake == Pool::Transposed { (c * w + x) * h + y } else { out.row(c, y, x) };
                    a[[row, j]] = value;
                }
            }
        }
    }
    a
}

/// [`max_pool_forward`]'s planted mistakes.
const MAX_POOL_FORWARD: &[Mistake<MaxPoolForward>] = &[
    Mistake {
        name: "average",
        hint: "That is average pooling. | Max pooling keeps the largest value of each window.",
        wrong: |p, i, g| pool_with(p, i, g, Pool::Average),
    },
    Mistake {
        name: "window without stride",
        hint: "The windows do not move by the stride. | Window (y, x) starts s rows and s columns further for each \
               step of y and of x.",
        wrong: |p, i, g| pool_with(p, i, g, Pool::WindowWithoutStride),
    },
    Mistake {
        name: "transposed",
        hint: "Each pooled map is transposed. | y counts the rows (the height), x the columns, and A holds each \
               channel row by row, like every image of the course (Image::row of the pooled image).",
        wrong: |p, i, g| pool_with(p, i, g, Pool::Transposed),
    },
    Mistake {
        name: "one window short",
        hint: "The output is one row and one column short. | Count the windows with the pooled size equation, \
               whose + 1 counts the first window.",
        wrong: |p, i, g| pool_with(p, i, g, Pool::OneTooFew),
    },
];

/// Checks A[c, y, x] = max_{i, j < window} G[c, y·s + i, x·s + j] for every channel and
/// y < H″ = (H′ − window)/s + 1, x < W″, against [`ann_core::conv::max_pool_forward`], on
/// windows side by side and overlapping, on square and non-square maps.
pub fn max_pool_forward(f: MaxPoolForward) -> Report {
    let mut r = rng(84);
    let mut cases = vec![pool_by_hand()];
    cases.extend(pool_cases(
        &[(2, 4, 4, 2, 2, 2), (3, 6, 4, 2, 2, 2), (2, 5, 7, 3, 2, 2), (2, 3, 4, 2, 1, 3)],
        false,
        &mut r,
    ));
    let cases: Vec<_> = cases
        .into_iter()
        .filter_map(|case| {
            let (a, _) = reference_pool(&case.pool, case.input, case.g.view()).ok()?;
            Some((case, a))
        })
        .collect();
    let mut g = Grader::new("max_pool_forward", cases.len());
    for (PoolCase { pool, input, g: gg }, expected) in &cases {
        let inputs = || format!("{}: G {}", pool_str(pool, *input), shape(gg.view()));
        let call = |f: MaxPoolForward| f(pool, *input, gg.view());
        if let Err(report) = g.array_case(inputs, expected.view(), MAX_POOL_FORWARD, call, f) {
            return report;
        }
    }
    g.finish()
}

/// The one thing a planted mistake of [`max_pool_backward`] does differently.
#[derive(Clone, Copy, PartialEq)]
enum Unpool {
    /// dA to every pixel of the window.
    Spread,
    /// dA / window² to every pixel of the window.
    Averaged,
    /// dA to every pixel equal to the maximum.
    TiesToAll,
    /// dA to the last maximum, row by row.
    TiesToLast,
    /// dG at the arg-max assigned, not added.
    Overwritten,
    /// 1 at the arg-max, without dA.
    MaskOnly,
}

/// The gradient of max pooling with one `mistake`.
fn unpool_with(
    pool: &MaxPool2d,
    input: Image,
    g: ArrayView2<f64>,
    da: ArrayView2<f64>,
    mistake: Unpool,
) -> Array2<f64> {
    let out = pool.output(input);
    let s = pool.stride;
    let mut dg = Array2::zeros(g.dim());
    for j in 0..g.ncols() {
        for c in 0..out.channels {
            for y in 0..out.height {
                for x in 0..out.width {
                    let d = da[[out.row(c, y, x), j]];
                    let rows = window_rows(pool, input, c, y * s, x * s);
                    let max = rows.iter().map(|&r| g[[r, j]]).fold(f64::NEG_INFINITY, f64::max);
                    let maxima: Vec<usize> = rows.iter().copied().filter(|&r| g[[r, j]] == max).collect();
                    let (Some(&first), Some(&last)) = (maxima.first(), maxima.last()) else { continue };
                    match mistake {
                        Unpool::Spread => rows.iter().for_each(|&r| dg[[r, j]] += d),
                        Unpool::Averaged => rows.iter().for_each(|&r| dg[[r, j]] += d / rows.len() as f64),
                        Unpool::TiesToAll => maxima.iter().for_each(|&r| dg[[r, j]] += d),
                        Unpool::TiesToLast => dg[[last, j]] += d,
                        Unpool::Overwritten => dg[[first, j]] = d,
                        Unpool::MaskOnly => dg[[first, j]] += 1.0,
                    }
                }
            }
        }
    }
    dg
}

/// [`max_pool_backward`]'s planted mistakes.
const MAX_POOL_BACKWARD: &[Mistake<MaxPoolBackward>] = &[
    Mistake {
        name: "spread over the window",
        hint: "Every pixel of the window got dA. | Only the window's maximum reached A, so only that pixel gets \
               the gradient, the others 0.",
        wrong: |p, i, g, da| unpool_with(p, i, g, da, Unpool::Spread),
    },
    Mistake {
        name: "averaged over the window",
        hint: "That is average pooling's gradient, dA shared over the window. | Max pooling sends all of dA to \
               the window's maximum and nothing to the other pixels.",
        wrong: |p, i, g, da| unpool_with(p, i, g, da, Unpool::Averaged),
    },
    Mistake {
        name: "ties to every maximum",
        hint: "In a window with several equal maxima every one got dA, but only one gave A its value. | Send dA \
               to the first maximum met scanning the window row by row, the one the forward pass keeps.",
        wrong: |p, i, g, da| unpool_with(p, i, g, da, Unpool::TiesToAll),
    },
    Mistake {
        name: "ties to the last maximum",
        hint: "In a tie the last maximum got dA. | The forward pass keeps the first one met row by row, so a later \
               pixel wins only when it is strictly greater.",
        wrong: |p, i, g, da| unpool_with(p, i, g, da, Unpool::TiesToLast),
    },
    Mistake {
        name: "overwritten",
        hint: "With overlapping windows (stride < window) one pixel can be the maximum of several windows. | It \
               gets the dA of every window it won, added up, not only the last one.",
        wrong: |p, i, g, da| unpool_with(p, i, g, da, Unpool::Overwritten),
    },
    Mistake {
        name: "mask only",
        hint: "That is the arg-max mask alone. | The winning pixel gets its window's dA, not 1.",
        wrong: |p, i, g, da| unpool_with(p, i, g, da, Unpool::MaskOnly),
    },
];

/// Checks dG[c, y·s + i*, x·s + j*] += dA[c, y, x], with (i*, j*) the arg-max of window (y, x)
/// (the first maximum row by row when several tie) and 0 for every other pixel, against
/// [`ann_core::conv::max_pool_backward`]. The learner finds the arg-max again from G, the
/// input of the forward pass. Cases with ties and with overlapping windows (a pixel can win
/// several).
pub fn max_pool_backward(f: MaxPoolBackward) -> Report {
    let mut r = rng(85);
    let mut cases = vec![pool_by_hand()];
    cases.extend(pool_cases(&[(2, 3, 4, 2, 1, 2)], false, &mut r));
    cases.extend(pool_cases(&[(3, 6, 4, 2, 2, 2), (2, 5, 7, 3, 2, 2)], true, &mut r));
    let cases: Vec<_> = cases
        .into_iter()
        .enumerate()
        .filter_map(|(n, case)| {
            let (a, cache) = reference_pool(&case.pool, case.input, case.g.view()).ok()?;
            let da = if n == 0 {
                array![[1.0], [2.0], [3.0], [4.0]]
            } else {
                random(a.nrows(), a.ncols(), 1.0, &mut r)
            };
            let dg = reference_unpool(&cache, da.view()).ok()?;
            Some((case, da, dg))
        })
        .collect();
    let mut g = Grader::new("max_pool_backward", cases.len());
    for (PoolCase { pool, input, g: gg }, da, expected) in &cases {
        let inputs =
            || format!("{}: G {}, dA {}", pool_str(pool, *input), shape(gg.view()), shape(da.view()));
        let call = |f: MaxPoolBackward| f(pool, *input, gg.view(), da.view());
        if let Err(report) = g.array_case(inputs, expected.view(), MAX_POOL_BACKWARD, call, f) {
            return report;
        }
    }
    g.finish()
}

/// The one thing a planted mistake of [`im2col`] does differently.
#[derive(Clone, Copy, PartialEq)]
enum Cols {
    /// (H′·W′, C·k·k).
    Transposed,
    /// Row (i·k + j)·C + c: the channel varies fastest.
    ChannelLast,
    /// Column x·H′ + y: the positions column by column.
    ColumnMajor,
    /// Row (c·k + j)·k + i.
    FilterTransposed,
    /// The window of (y, x) starts at (y, x).
    WindowWithoutStride,
    /// The size counts the padding, but pixel (h, w) of A_pad is read as pixel (h, w) of A.
    NotShifted,
    /// No zeros around the image: fewer positions.
    NoPadding,
}

/// im2col with one `mistake`.
fn im2col_with(conv: &Conv2d, a: ArrayView1<f64>, mistake: Cols) -> Array2<f64> {
    let a = a.insert_axis(Axis(1));
    let Conv2d { input, kernel: k, stride: s, .. } = *conv;
    let p = if mistake == Cols::NoPadding { 0 } else { conv.padding };
    let shift = if mistake == Cols::NotShifted { 0 } else { p };
    let (h, w) = (side(input.height, k, s, p), side(input.width, k, s, p));
    let channels = input.channels;
    let mut cols = Array2::zeros((channels * k * k, h * w));
    for c in 0..channels {
        for i in 0..k {
            for jj in 0..k {
                for y in 0..h {
                    for x in 0..w {
                        let (y0, x0) =
                            if mistake == Cols::WindowWithoutStride { (y, x) } else { (y * s, x * s) };
                        let row = match mistake {
                            Cols::ChannelLast => (i * k + jj) * channels + c,
                            Cols::FilterTransposed => (c * k + jj) * k + i,
                            _ => (c * k + i) * k + jj,
                        };
                        let col = if mistake == Cols::ColumnMajor { x * h + y } else { y * w + x };
                        cols[[row, col]] = pixel(a, input, shift, c, y0 + i, x0 + jj, 0);
                    }
                }
            }
        }
    }
    if mistake == Cols::Transposed { cols.t().to_owned() } else { cols }
}

/// [`im2col`]'s planted mistakes.
const IM2COL: &[Mistake<Im2col>] = &[
    Mistake {
        name: "transposed",
        hint: "The patch matrix is transposed. | One row per filter entry (c, i, j), C·k·k rows, and one column \
               per output position (y, x), H′·W′ columns, so that W times it is the convolution.",
        wrong: |c, a| im2col_with(c, a, Cols::Transposed),
    },
    Mistake {
        name: "channel last",
        hint: "The rows are in the wrong order. | They follow a filter's entries in a row of W, channel first \
               (slowest), then the filter's row i, then its column j.",
        wrong: |c, a| im2col_with(c, a, Cols::ChannelLast),
    },
    Mistake {
        name: "positions column by column",
        hint: "The columns are in the wrong order. | The positions go row by row, like the output image (x \
               fastest), so that row f of W times the patches is filter f's output image.",
        wrong: |c, a| im2col_with(c, a, Cols::ColumnMajor),
    },
    Mistake {
        name: "filter transposed",
        hint: FILTER_TRANSPOSED,
        wrong: |c, a| im2col_with(c, a, Cols::FilterTransposed),
    },
    Mistake {
        name: "window without stride",
        hint: WINDOW_WITHOUT_STRIDE,
        wrong: |c, a| im2col_with(c, a, Cols::WindowWithoutStride),
    },
    Mistake {
        name: "padding not shifted",
        hint: NOT_SHIFTED,
        wrong: |c, a| im2col_with(c, a, Cols::NotShifted),
    },
    Mistake {
        name: "no padding",
        hint: "The padding is left out. | The patches come from the padded image (p zeros around every channel), \
               so there are more positions, and border patches hold zeros.",
        wrong: |c, a| im2col_with(c, a, Cols::NoPadding),
    },
];

/// Checks cols[(c·k + i)·k + j, y·W′ + x] = A_pad[c, y·s + i, x·s + j], shape (C·k·k, H′·W′),
/// for one image, against [`ann_core::conv::im2col`]: then Z = W · cols + b is the
/// convolution of that image, filter after filter.
pub fn im2col(f: Im2col) -> Report {
    let mut r = rng(86);
    let first = (layer(Image::new(1, 4, 4), 2, 2, 0), Array1::from_shape_fn(16, |q| (q + 1) as f64));
    let mut cases = vec![first];
    for (c, h, w, k, s, p) in [(2, 3, 5, 2, 1, 0), (3, 5, 7, 3, 2, 1), (2, 4, 6, 3, 1, 2), (1, 6, 4, 2, 2, 0)]
    {
        let conv = layer(Image::new(c, h, w), k, s, p);
        let a = random(conv.input.len(), 1, 2.0, &mut r).column(0).to_owned();
        cases.push((conv, a));
    }
    let cases: Vec<_> = cases
        .into_iter()
        .filter_map(|(conv, a)| {
            let cols = reference_im2col(&conv, a.view()).ok()?;
            Some((conv, a, cols))
        })
        .collect();
    let mut g = Grader::new("im2col", cases.len());
    for (conv, a, expected) in &cases {
        let k = conv.kernel;
        let inputs = || {
            format!(
                "one {} image ({} entries), {k}×{k} filters, stride {}, padding {}",
                conv.input,
                a.len(),
                conv.stride,
                conv.padding
            )
        };
        let call = |f: Im2col| f(conv, a.view());
        if let Err(report) = g.array_case(inputs, expected.view(), IM2COL, call, f) {
            return report;
        }
    }
    g.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::tests::check_table;
    use crate::report::Outcome;

    /// A_pad[c, h, v] of example j, as a learner writes it.
    fn padded(conv: &Conv2d, a: ArrayView2<f64>, c: usize, h: usize, v: usize, j: usize) -> f64 {
        let (input, p) = (conv.input, conv.padding);
        if h < p || v < p || h - p >= input.height || v - p >= input.width {
            0.0
        } else {
            a[[input.row(c, h - p, v - p), j]]
        }
    }

    fn forward_ok(conv: &Conv2d, w: ArrayView2<f64>, b: ArrayView2<f64>, a: ArrayView2<f64>) -> Array2<f64> {
        let (k, s) = (conv.kernel, conv.stride);
        let out = conv.conv_output(w.nrows());
        let mut z = Array2::zeros((out.len(), a.ncols()));
        for j in 0..a.ncols() {
            for f in 0..out.channels {
                for y in 0..out.height {
                    for x in 0..out.width {
                        let mut sum = b[[f, 0]];
                        for c in 0..conv.input.channels {
                            for i in 0..k {
                                for jj in 0..k {
                                    sum += w[[f, (c * k + i) * k + jj]]
                                        * padded(conv, a, c, y * s + i, x * s + jj, j);
                                }
                            }
                        }
                        z[[out.row(f, y, x), j]] = sum;
                    }
                }
            }
        }
        z
    }

    fn backward_ok(
        conv: &Conv2d,
        w: ArrayView2<f64>,
        a: ArrayView2<f64>,
        dz: ArrayView2<f64>,
    ) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
        let Conv2d { input, kernel: k, stride: s, padding: p, .. } = *conv;
        let out = conv.conv_output(w.nrows());
        let (mut dw, mut db, mut da) =
            (Array2::zeros(w.dim()), Array2::zeros((w.nrows(), 1)), Array2::zeros(a.dim()));
        for j in 0..a.ncols() {
            for f in 0..out.channels {
                for y in 0..out.height {
                    for x in 0..out.width {
                        let g = dz[[out.row(f, y, x), j]];
                        db[[f, 0]] += g;
                        for c in 0..input.channels {
                            for i in 0..k {
                                for jj in 0..k {
                                    let (h, v) = (y * s + i, x * s + jj);
                                    if h < p || v < p || h - p >= input.height || v - p >= input.width {
                                        continue;
                                    }
                                    let (r, col) = (input.row(c, h - p, v - p), (c * k + i) * k + jj);
                                    dw[[f, col]] += g * a[[r, j]];
                                    da[[r, j]] += w[[f, col]] * g;
                                }
                            }
                        }
                    }
                }
            }
        }
        (dw, db, da)
    }

    fn pool_ok(pool: &MaxPool2d, input: Image, g: ArrayView2<f64>) -> Array2<f64> {
        let (win, s, out) = (pool.window, pool.stride, pool.output(input));
        let mut a = Array2::zeros((out.len(), g.ncols()));
        for j in 0..g.ncols() {
            for c in 0..out.channels {
                for y in 0..out.height {
                    for x in 0..out.width {
                        let mut best = f64::NEG_INFINITY;
                        for i in 0..win {
                            for jj in 0..win {
                                best = best.max(g[[input.row(c, y * s + i, x * s + jj), j]]);
                            }
                        }
                        a[[out.row(c, y, x), j]] = best;
                    }
                }
            }
        }
        a
    }

    fn unpool_ok(pool: &MaxPool2d, input: Image, g: ArrayView2<f64>, da: ArrayView2<f64>) -> Array2<f64> {
        let (win, s, out) = (pool.window, pool.stride, pool.output(input));
        let mut dg = Array2::zeros(g.dim());
        for j in 0..g.ncols() {
            for c in 0..out.channels {
                for y in 0..out.height {
                    for x in 0..out.width {
                        let mut best = input.row(c, y * s, x * s);
                        for i in 0..win {
                            for jj in 0..win {
                                let r = input.row(c, y * s + i, x * s + jj);
                                if g[[r, j]] > g[[best, j]] {
                                    best = r;
                                }
                            }
                        }
                        dg[[best, j]] += da[[out.row(c, y, x), j]];
                    }
                }
            }
        }
        dg
    }

    fn im2col_ok(conv: &Conv2d, a: ArrayView1<f64>) -> Array2<f64> {
        let Conv2d { input, kernel: k, stride: s, padding: p, .. } = *conv;
        let out = conv.conv_output(1);
        let mut cols = Array2::zeros((conv.patch_len(), out.height * out.width));
        for c in 0..input.channels {
            for i in 0..k {
                for jj in 0..k {
                    for y in 0..out.height {
                        for x in 0..out.width {
                            let (h, v) = (y * s + i, x * s + jj);
                            if h >= p && v >= p && h - p < input.height && v - p < input.width {
                                cols[[(c * k + i) * k + jj, y * out.width + x]] =
                                    a[input.row(c, h - p, v - p)];
                            }
                        }
                    }
                }
            }
        }
        cols
    }

    /// This file's graders, each with a reference implementation and its planted mistakes.
    pub(crate) fn tables() -> Vec<String> {
        [
            check_table(conv_forward, CONV_FORWARD, forward_ok),
            check_table(conv_backward, CONV_BACKWARD, backward_ok),
            check_table(max_pool_forward, MAX_POOL_FORWARD, pool_ok),
            check_table(max_pool_backward, MAX_POOL_BACKWARD, unpool_ok),
            check_table(im2col, IM2COL, im2col_ok),
        ]
        .concat()
    }

    #[test]
    fn the_cases_by_hand_are_what_the_docs_say() {
        let case = &conv_cases(81)[0];
        let z = conv_forward_loops(&case.conv, case.w.view(), case.b.view(), case.a.view()).unwrap();
        // window [[1, 2], [4, 5]]: 1·1 + 2·2 + 3·4 + 4·5 + 0.5; the diagonal of ones: 1 + 4 + 0.5
        assert_eq!(z.column(0).to_vec(), vec![37.5, 47.5, 67.5, 77.5]);
        assert_eq!(z.column(1).to_vec(), vec![5.5, 3.5, 2.5, 5.5]);
        let by_hand = pool_by_hand();
        let (a, _) = reference_pool(&by_hand.pool, by_hand.input, by_hand.g.view()).unwrap();
        assert_eq!(a.column(0).to_vec(), vec![4.0, 5.0, 2.0, 7.0]);
        let cols =
            reference_im2col(&layer(Image::new(1, 4, 4), 2, 2, 0), Array1::range(1.0, 17.0, 1.0).view());
        assert_eq!(cols.unwrap().row(0).to_vec(), vec![1.0, 3.0, 9.0, 11.0]);
    }

    #[test]
    fn every_grader_counts_its_cases_and_reports_a_todo() {
        let counts = [
            conv_forward(forward_ok),
            conv_backward(backward_ok),
            max_pool_forward(pool_ok),
            max_pool_backward(unpool_ok),
            im2col(im2col_ok),
        ]
        .map(|r| (r.name, r.passed, r.total, r.is_passed()));
        assert_eq!(
            counts,
            [
                ("conv_forward", 6, 6, true),
                ("conv_backward", 6, 6, true),
                ("max_pool_forward", 5, 5, true),
                ("max_pool_backward", 4, 4, true),
                ("im2col", 5, 5, true),
            ]
        );
        let todo = [
            conv_forward(|_, _, _, _| todo!("the loops")).outcome,
            conv_backward(|_, _, _, _| todo!("the loops")).outcome,
            max_pool_forward(|_, _, _| todo!("the windows")).outcome,
            max_pool_backward(|_, _, _, _| todo!("the arg-max")).outcome,
            im2col(|_, _| todo!("the patches")).outcome,
        ];
        assert!(todo.iter().all(|o| *o == Outcome::NotImplemented), "{todo:?}");
    }

    /// Right too: the convolution as one product per example, Z_j = W · im2col(A_j) + b.
    fn forward_by_product(
        conv: &Conv2d,
        w: ArrayView2<f64>,
        b: ArrayView2<f64>,
        a: ArrayView2<f64>,
    ) -> Array2<f64> {
        let out = conv.conv_output(w.nrows());
        let mut z = Array2::zeros((out.len(), a.ncols()));
        for (j, column) in a.columns().into_iter().enumerate() {
            let z_j = w.dot(&im2col_ok(conv, column)) + b;
            z.column_mut(j).assign(&Array1::from_iter(z_j.iter().copied()));
        }
        z
    }

    #[test]
    fn the_product_form_passes_and_bad_output_is_reported_not_raised() {
        assert!(conv_forward(forward_by_product).is_passed());
        let nan =
            conv_forward(|c, w, b, a| forward_ok(c, w, b, a).mapv(|v| if v > 1.0 { f64::NAN } else { v }));
        assert!(nan.to_string().contains("is NaN"), "{nan}");
        let transposed = conv_forward(|c, w, b, a| forward_ok(c, w, b, a).reversed_axes());
        assert!(transposed.hint().unwrap().contains("transposed"), "{transposed}");
        let panics = conv_backward(|_, w, a, _| {
            let product = a.dot(&w);
            (product.clone(), product.clone(), product)
        });
        assert!(matches!(panics.outcome, Outcome::Panicked { case: 1, .. }), "{panics}");
        let empty = max_pool_backward(|_, _, _, _| Array2::zeros((0, 0)));
        assert!(empty.to_string().contains("expected shape (16, 1), got (0, 0)"), "{empty}");
        let out_of_bounds = im2col(|_, a| Array2::from_elem((1, 1), a[a.len()]));
        assert!(matches!(out_of_bounds.outcome, Outcome::Panicked { case: 1, .. }), "{out_of_bounds}");
    }

    /// `z` (F·H′·W′, m) of the `out` image, grown by `more` rows and columns of zeros.
    fn grown(z: Array2<f64>, out: Image, more: usize) -> Array2<f64> {
        let big = Image::new(out.channels, out.height + more, out.width + more);
        Array2::from_shape_fn((big.len(), z.ncols()), |(r, j)| {
            let (f, rest) = (r / (big.height * big.width), r % (big.height * big.width));
            let (y, x) = (rest / big.width, rest % big.width);
            if y < out.height && x < out.width { z[[out.row(f, y, x), j]] } else { 0.0 }
        })
    }

    #[test]
    fn a_wrong_output_size_is_named_from_the_shape_alone() {
        // One row and one column too many, read as zeros past the image (so no panic).
        let one_more =
            conv_forward(|conv, w, b, a| grown(forward_ok(conv, w, b, a), conv.conv_output(w.nrows()), 1));
        assert_eq!(one_more.hint(), Some(ONE_TOO_MANY), "{one_more}");
        // The size of stride 1, or of no padding, whatever the values: right where the layer has
        // stride 1 (no padding), so the first case with another shows it.
        let stride_one = conv_forward(|conv, w, b, a| {
            let Conv2d { input, kernel: k, padding: p, .. } = *conv;
            if conv.stride == 1 {
                return forward_ok(conv, w, b, a);
            }
            Array2::zeros((w.nrows() * side(input.height, k, 1, p) * side(input.width, k, 1, p), a.ncols()))
        });
        assert_eq!(stride_one.hint(), Some(NO_STRIDE), "{stride_one}");
        let no_padding = conv_forward(|conv, w, b, a| {
            let Conv2d { input, kernel: k, stride: s, .. } = *conv;
            if conv.padding == 0 {
                return forward_ok(conv, w, b, a);
            }
            Array2::zeros((w.nrows() * side(input.height, k, s, 0) * side(input.width, k, s, 0), a.ncols()))
        });
        assert_eq!(no_padding.hint(), Some(NO_PADDING), "{no_padding}");
    }

    #[test]
    fn a_backward_mistake_is_named_in_the_output_it_is_made_in() {
        for (name, output) in [
            ("dW: 1/m", "dW: "),
            ("db: per position", "db: expected shape (1, 1), got (4, 1)"),
            ("dA: flipped", "dA_prev: "),
            ("window without stride", "dW: "),
        ] {
            let mistake = CONV_BACKWARD.iter().find(|m| m.name == name).unwrap();
            let text = conv_backward(mistake.wrong).to_string();
            assert!(text.contains(output), "{name}: {text}");
        }
    }

    #[test]
    fn the_pooling_case_by_hand_has_its_ties() {
        let hand = pool_by_hand();
        let (_, cache) = reference_pool(&hand.pool, hand.input, hand.g.view()).unwrap();
        // window (1, 0) ties at rows 12 and 13, window (1, 1) at 10, 11 and 14: the first wins
        assert_eq!(cache.argmax.column(0).to_vec(), vec![4, 7, 12, 10]);
    }
}
