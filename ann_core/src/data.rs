//! Synthetic data sets (seeded, with Gaussian noise), a stratified train/test split, and
//! the targets Y in course layout: X is (n_x, m), one column per example.

use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::network::Task;
use ndarray::{Array2, ArrayView2, Axis};
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::f64::consts::PI;

// Real images, read from files: Fashion-MNIST (its own module, re-exported here).
pub use crate::fashion_mnist::{FashionMnist, PixelScale, fashion_mnist};

/// A view of a labelled data set in course layout: X is (n_x, m), Y is (n_L, m), one
/// column per example. Training and evaluation take one; a pair `(&x, &y)` of arrays or
/// `(x.view(), y.view())` converts into it. Its numbers are f64; training in
/// [`Precision::F32`](crate::Precision) also takes them in f32 (`DataView<'_, f32>`, half the
/// memory; see [`Examples`]).
#[derive(Debug, Clone, Copy)]
pub struct DataView<'a, F = f64> {
    /// Inputs, one column per example.
    pub x: ArrayView2<'a, F>,
    /// Targets, one column per example.
    pub y: ArrayView2<'a, F>,
}

impl<'a> DataView<'a> {
    /// Pairs X with Y.
    pub fn new(x: ArrayView2<'a, f64>, y: ArrayView2<'a, f64>) -> Self {
        DataView { x, y }
    }
}

impl<'a, F> From<(ArrayView2<'a, F>, ArrayView2<'a, F>)> for DataView<'a, F> {
    fn from((x, y): (ArrayView2<'a, F>, ArrayView2<'a, F>)) -> Self {
        DataView { x, y }
    }
}

impl<'a, F> From<(&'a Array2<F>, &'a Array2<F>)> for DataView<'a, F> {
    fn from((x, y): (&'a Array2<F>, &'a Array2<F>)) -> Self {
        DataView { x: x.view(), y: y.view() }
    }
}

/// The examples a training run takes: (X, Y) in f64, or in f32 for a run in
/// [`Precision::F32`](crate::Precision) (half the memory: Fashion-MNIST's training X is 188 MB
/// instead of 376 MB). Any [`DataView`] or pair of arrays or views of either precision
/// converts into it.
#[derive(Debug, Clone, Copy)]
pub enum Examples<'a> {
    /// X and Y in f64.
    F64(DataView<'a, f64>),
    /// X and Y in f32.
    F32(DataView<'a, f32>),
}

impl Examples<'_> {
    /// m, the number of examples.
    pub fn len(&self) -> usize {
        match self {
            Examples::F64(d) => d.x.ncols(),
            Examples::F32(d) => d.x.ncols(),
        }
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The precision of X and Y.
    pub fn precision(&self) -> crate::Precision {
        match self {
            Examples::F64(_) => crate::Precision::F64,
            Examples::F32(_) => crate::Precision::F32,
        }
    }
}

impl<'a> From<DataView<'a, f64>> for Examples<'a> {
    fn from(d: DataView<'a, f64>) -> Self {
        Examples::F64(d)
    }
}

impl<'a> From<DataView<'a, f32>> for Examples<'a> {
    fn from(d: DataView<'a, f32>) -> Self {
        Examples::F32(d)
    }
}

impl<'a> From<(ArrayView2<'a, f64>, ArrayView2<'a, f64>)> for Examples<'a> {
    fn from(pair: (ArrayView2<'a, f64>, ArrayView2<'a, f64>)) -> Self {
        Examples::F64(pair.into())
    }
}

impl<'a> From<(&'a Array2<f64>, &'a Array2<f64>)> for Examples<'a> {
    fn from(pair: (&'a Array2<f64>, &'a Array2<f64>)) -> Self {
        Examples::F64(pair.into())
    }
}

impl<'a> From<(ArrayView2<'a, f32>, ArrayView2<'a, f32>)> for Examples<'a> {
    fn from(pair: (ArrayView2<'a, f32>, ArrayView2<'a, f32>)) -> Self {
        Examples::F32(pair.into())
    }
}

impl<'a> From<(&'a Array2<f32>, &'a Array2<f32>)> for Examples<'a> {
    fn from(pair: (&'a Array2<f32>, &'a Array2<f32>)) -> Self {
        Examples::F32(pair.into())
    }
}

/// An owned labelled classification data set: X and each example's class (Y follows from
/// the task, see [`Dataset::targets`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Inputs X, shape (n_x, m).
    pub x: Array2<f64>,
    /// Class label of each column, in 0..n_classes.
    pub labels: Vec<usize>,
    /// Number of classes k.
    pub n_classes: usize,
}

impl Dataset {
    /// Builds a data set, checking that labels match X's columns and lie in 0..n_classes.
    pub fn new(x: Array2<f64>, labels: Vec<usize>, n_classes: usize) -> Result<Self> {
        if labels.len() != x.ncols() {
            return Err(AnnError::ShapeMismatch {
                context: "one label per column of X".into(),
                expected: format!("{} labels", x.ncols()),
                got: format!("{} labels", labels.len()),
            });
        }
        if let Some(&bad) = labels.iter().find(|&&c| c >= n_classes) {
            return Err(AnnError::InvalidLabels(format!("label {bad} is not in 0..{n_classes}")));
        }
        Ok(Dataset { x, labels, n_classes })
    }

    /// m, the number of examples.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.x.ncols() == 0
    }

    /// Y for `task`: a (1, m) row of 0/1 for [`Task::Binary`] (label 1 is the positive
    /// class), one-hot (k, m) for [`Task::MultiClass`], the label as a number for
    /// [`Task::Regression`].
    pub fn targets(&self, task: Task) -> Array2<f64> {
        match task {
            Task::Binary => {
                Array2::from_shape_fn((1, self.len()), |(_, j)| if self.labels[j] == 1 { 1.0 } else { 0.0 })
            }
            Task::MultiClass => one_hot(&self.labels, self.n_classes),
            Task::Regression => Array2::from_shape_fn((1, self.len()), |(_, j)| self.labels[j] as f64),
        }
    }

    /// The examples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        Dataset {
            x: self.x.select(Axis(1), idx),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            n_classes: self.n_classes,
        }
    }
}

/// One-hot encoding: Y[c, j] = 1 if labels[j] = c; shape (k, m).
pub fn one_hot(labels: &[usize], k: usize) -> Array2<f64> {
    let mut y = Array2::zeros((k, labels.len()));
    for (j, &c) in labels.iter().enumerate() {
        if c < k {
            y[[c, j]] = 1.0;
        }
    }
    y
}

fn check_m(m: usize, min: usize) -> Result<()> {
    if m < min {
        Err(bad_hyper("m (number of examples)", m, &format!("must be at least {min}")))
    } else {
        Ok(())
    }
}

fn check_noise(noise: f64) -> Result<()> {
    if noise.is_finite() && noise >= 0.0 {
        Ok(())
    } else {
        Err(bad_hyper("noise", noise, "must be finite and >= 0"))
    }
}

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Shuffles the columns so that classes are interleaved (the generators build them in order).
fn shuffled(points: Vec<[f64; 2]>, labels: Vec<usize>, k: usize, rng: &mut ChaCha8Rng) -> Dataset {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.shuffle(rng);
    let x = Array2::from_shape_fn((2, order.len()), |(r, j)| points[order[j]][r]);
    Dataset { x, labels: order.iter().map(|&i| labels[i]).collect(), n_classes: k }
}

/// Two interleaving half circles: class 0 is (cos t, sin t), class 1 is
/// (1 − cos t, ½ − sin t), t evenly spaced in [0, π], plus N(0, noise²) on each coordinate.
pub fn two_moons(m: usize, noise: f64, seed: u64) -> Result<Dataset> {
    check_m(m, 2)?;
    check_noise(noise)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (m0, m1) = (m - m / 2, m / 2);
    let mut pts = Vec::with_capacity(m);
    let mut labels = Vec::with_capacity(m);
    for (class, count) in [(0usize, m0), (1, m1)] {
        for i in 0..count {
            let t = PI * i as f64 / (count.max(2) - 1) as f64;
            let p = if class == 0 { [t.cos(), t.sin()] } else { [1.0 - t.cos(), 0.5 - t.sin()] };
            pts.push([p[0] + noise * gauss(&mut rng), p[1] + noise * gauss(&mut rng)]);
            labels.push(class);
        }
    }
    Ok(shuffled(pts, labels, 2, &mut rng))
}

/// Two concentric circles: class 0 of radius 1, class 1 of radius `factor` (0 < factor < 1),
/// plus N(0, noise²) on each coordinate.
pub fn circles(m: usize, noise: f64, factor: f64, seed: u64) -> Result<Dataset> {
    check_m(m, 2)?;
    check_noise(noise)?;
    if !(factor > 0.0 && factor < 1.0) {
        return Err(bad_hyper("factor", factor, "must lie in (0, 1)"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (m0, m1) = (m - m / 2, m / 2);
    let mut pts = Vec::with_capacity(m);
    let mut labels = Vec::with_capacity(m);
    for (class, count, r) in [(0usize, m0, 1.0), (1, m1, factor)] {
        for i in 0..count {
            let t = 2.0 * PI * i as f64 / count as f64;
            pts.push([r * t.cos() + noise * gauss(&mut rng), r * t.sin() + noise * gauss(&mut rng)]);
            labels.push(class);
        }
    }
    Ok(shuffled(pts, labels, 2, &mut rng))
}

/// k interleaved spiral arms (the CS231n data set): arm c has points r (sin θ, cos θ) with
/// r evenly spaced in [0, 1] and θ = 2πc/k + 8r + N(0, noise²) (noise turns the arms fuzzy).
pub fn spirals(m: usize, k: usize, noise: f64, seed: u64) -> Result<Dataset> {
    if k < 2 {
        return Err(bad_hyper("k (classes)", k, "must be at least 2"));
    }
    check_m(m, k)?;
    check_noise(noise)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pts = Vec::with_capacity(m);
    let mut labels = Vec::with_capacity(m);
    for c in 0..k {
        let count = m / k + usize::from(c < m % k);
        for i in 0..count {
            let r = i as f64 / (count.max(2) - 1) as f64;
            // Each arm turns by 8 rad (~1.3 rounds) as r goes 0 → 1, arms offset by 2π/k.
            let theta = c as f64 * 2.0 * PI / k as f64 + 8.0 * r + noise * gauss(&mut rng);
            pts.push([r * theta.sin(), r * theta.cos()]);
            labels.push(c);
        }
    }
    Ok(shuffled(pts, labels, k, &mut rng))
}

/// XOR: points uniform in [−1, 1]²; class 1 where the signs of x₁ and x₂ differ; then
/// N(0, noise²) added to each coordinate.
pub fn xor(m: usize, noise: f64, seed: u64) -> Result<Dataset> {
    check_m(m, 1)?;
    check_noise(noise)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pts = Vec::with_capacity(m);
    let mut labels = Vec::with_capacity(m);
    for _ in 0..m {
        let (a, b) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
        labels.push(usize::from((a > 0.0) != (b > 0.0)));
        pts.push([a + noise * gauss(&mut rng), b + noise * gauss(&mut rng)]);
    }
    Ok(shuffled(pts, labels, 2, &mut rng))
}

/// Gaussian blobs: k centres drawn uniformly in [−5, 5]^n_features, each example its
/// class centre plus N(0, std²) per feature. Classes are balanced and interleaved.
pub fn blobs(m: usize, k: usize, n_features: usize, std: f64, seed: u64) -> Result<Dataset> {
    if k < 1 {
        return Err(bad_hyper("k (classes)", k, "must be at least 1"));
    }
    if n_features < 1 {
        return Err(bad_hyper("n_features", n_features, "must be at least 1"));
    }
    check_m(m, k)?;
    check_noise(std)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres = Array2::from_shape_simple_fn((n_features, k), || rng.random_range(-5.0..5.0));
    let labels: Vec<usize> = {
        let mut l: Vec<usize> = (0..m).map(|j| j % k).collect();
        l.shuffle(&mut rng);
        l
    };
    let x = Array2::from_shape_fn((n_features, m), |(r, j)| centres[[r, labels[j]]]);
    let noise = Array2::from_shape_simple_fn((n_features, m), || std * gauss(&mut rng));
    Ok(Dataset { x: x + noise, labels, n_classes: k })
}

/// A 1-D regression set: x uniform in [−π, π], y = sin(x) + N(0, noise²); shapes (1, m).
pub fn noisy_sine(m: usize, noise: f64, seed: u64) -> Result<(Array2<f64>, Array2<f64>)> {
    check_m(m, 1)?;
    check_noise(noise)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_simple_fn((1, m), || rng.random_range(-PI..PI));
    let y = x.mapv(f64::sin) + Array2::from_shape_simple_fn((1, m), || noise * gauss(&mut rng));
    Ok((x, y))
}

/// The bundled 8×8 handwritten digits (1,797 images, 10 classes; scikit-learn's copy of the
/// UCI set, BSD-3, see `ann_core/data/README.md`). X is (64, 1797) with pixel intensities
/// 0–16, row-major pixels; labels are the digits.
pub fn digits() -> Result<Dataset> {
    use std::io::Read;
    const GZ: &[u8] = include_bytes!("../data/digits.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(GZ)
        .read_to_string(&mut text)
        .map_err(|e| AnnError::EmptyInput(format!("bundled digits file unreadable: {e}")))?;
    let mut pixels = Vec::with_capacity(1797 * 64);
    let mut labels = Vec::with_capacity(1797);
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let values: Vec<f64> = line
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| AnnError::InvalidLabels(format!("digits line {}: {e}", i + 1)))?;
        if values.len() != 65 {
            return Err(AnnError::InvalidLabels(format!(
                "digits line {} has {} values, not 65",
                i + 1,
                values.len()
            )));
        }
        pixels.extend_from_slice(&values[..64]);
        labels.push(values[64] as usize);
    }
    let m = labels.len();
    // Rows of the file are examples; the course wants examples as columns.
    let x = Array2::from_shape_vec((m, 64), pixels)
        .map_err(|e| AnnError::InvalidLabels(format!("digits: {e}")))?
        .reversed_axes()
        .as_standard_layout()
        .to_owned();
    Dataset::new(x, labels, 10)
}

/// Stratified split: from each class, a `test_fraction` share (rounded) goes to the test
/// set, chosen by a seeded shuffle. Returns (train, test).
pub fn train_test_split(data: &Dataset, test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(bad_hyper("test_fraction", test_fraction, "must lie in (0, 1)"));
    }
    if data.len() < 2 {
        return Err(AnnError::EmptyInput(format!(
            "cannot split {} example(s) X {}",
            data.len(),
            shape_str(data.x.shape())
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for c in 0..data.n_classes {
        let mut idx: Vec<usize> = (0..data.len()).filter(|&j| data.labels[j] == c).collect();
        idx.shuffle(&mut rng);
        let n_test = ((idx.len() as f64) * test_fraction).round() as usize;
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    if train.is_empty() || test.is_empty() {
        return Err(AnnError::EmptyInput(format!("test_fraction {test_fraction} leaves an empty side")));
    }
    train.shuffle(&mut rng);
    test.shuffle(&mut rng);
    Ok((data.subset(&train), data.subset(&test)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_seeded_balanced_and_shaped() {
        let a = two_moons(101, 0.2, 5).unwrap();
        assert_eq!(a, two_moons(101, 0.2, 5).unwrap());
        assert_ne!(a, two_moons(101, 0.2, 6).unwrap());
        assert_eq!(a.x.dim(), (2, 101));
        assert_eq!(a.labels.iter().filter(|&&c| c == 1).count(), 50);
        let s = spirals(300, 3, 0.2, 1).unwrap();
        assert_eq!(s.n_classes, 3);
        assert_eq!(s.labels.iter().filter(|&&c| c == 2).count(), 100);
        let b = blobs(50, 5, 784, 1.0, 2).unwrap();
        assert_eq!(b.x.dim(), (784, 50));
        assert_eq!(circles(10, 0.0, 0.5, 0).unwrap().x.dim(), (2, 10));
        let x = xor(200, 0.0, 3).unwrap();
        for (j, &c) in x.labels.iter().enumerate() {
            assert_eq!(c, usize::from((x.x[[0, j]] > 0.0) != (x.x[[1, j]] > 0.0)));
        }
        let (xs, ys) = noisy_sine(20, 0.0, 1).unwrap();
        assert_eq!(ys, xs.mapv(f64::sin));
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(two_moons(0, 0.1, 0).is_err());
        assert!(two_moons(10, -0.1, 0).is_err());
        assert!(two_moons(10, f64::NAN, 0).is_err());
        assert!(circles(10, 0.1, 1.5, 0).is_err());
        assert!(spirals(10, 1, 0.1, 0).is_err());
        assert!(blobs(10, 0, 2, 1.0, 0).is_err());
        assert!(Dataset::new(Array2::zeros((2, 3)), vec![0, 1], 2).is_err());
        assert!(Dataset::new(Array2::zeros((2, 2)), vec![0, 2], 2).is_err());
    }

    #[test]
    fn bundled_digits_load() {
        let d = digits().unwrap();
        assert_eq!(d.x.dim(), (64, 1797));
        assert_eq!(d.n_classes, 10);
        assert!(d.x.iter().all(|&v| (0.0..=16.0).contains(&v)));
        for c in 0..10 {
            let n = d.labels.iter().filter(|&&l| l == c).count();
            assert!((174..=183).contains(&n), "class {c}: {n}");
        }
        // The first image of the file is a 0 whose top row is 0 0 5 13 9 1 0 0.
        assert_eq!(d.labels[0], 0);
        assert_eq!(
            d.x.column(0).iter().take(8).copied().collect::<Vec<_>>(),
            vec![0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]
        );
    }

    #[test]
    fn split_is_stratified_and_disjoint() {
        let d = blobs(1000, 4, 3, 0.5, 9).unwrap();
        let (train, test) = train_test_split(&d, 0.2, 1).unwrap();
        assert_eq!(train.len() + test.len(), 1000);
        assert_eq!(test.len(), 200);
        for c in 0..4 {
            assert_eq!(test.labels.iter().filter(|&&l| l == c).count(), 50);
        }
        assert!(train_test_split(&d, 1.0, 1).is_err());
    }

    #[test]
    fn targets() {
        let d = Dataset::new(Array2::zeros((1, 3)), vec![0, 2, 1], 3).unwrap();
        assert_eq!(
            d.targets(Task::MultiClass),
            ndarray::array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
        );
        assert_eq!(d.targets(Task::Binary), ndarray::array![[0.0, 0.0, 1.0]]);
    }
}
