//! Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017; MIT licence): 70,000 grey-scale 28×28 images
//! of ten kinds of clothing, 60,000 for training and 10,000 for testing, read from the four
//! original IDX files (gzip-compressed) in a directory.
//!
//! Debian and Ubuntu ship them as the package `dataset-fashion-mnist`
//! (`/usr/share/datasets/fashion-mnist/`, the default directory here).
//!
//! **The IDX format.** All integers are big-endian u32. An image file starts with the magic
//! number 2051 (`0x00000803`: unsigned bytes, 3 dimensions), then the dimensions n, rows,
//! cols, then n · rows · cols pixel bytes, image after image, each row by row (0 = background,
//! 255 = full ink). A label file starts with 2049 (`0x00000801`: unsigned bytes, 1 dimension),
//! then n, then n label bytes.
//!
//! **Course layout.** Image j becomes column j of X, shape (784, m), pixel (r, c) in row
//! 28 r + c. X is stored column-major (each image's 784 pixels contiguous, as in the file):
//! no transposition when loading, and a mini-batch gathers whole columns.

use crate::data::{Dataset, one_hot};
use crate::error::{AnnError, Result};
use flate2::read::GzDecoder;
use ndarray::{Array2, ShapeBuilder};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The directory the Debian package `dataset-fashion-mnist` installs the files into.
pub const FASHION_MNIST_DEFAULT_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The environment variable that overrides [`FASHION_MNIST_DEFAULT_DIR`].
pub const FASHION_MNIST_DIR_ENV: &str = "ANN_FASHION_MNIST_DIR";

/// The ten classes; label c is `FASHION_MNIST_CLASSES[c]`.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The four files: training images, training labels, test images, test labels.
pub const FASHION_MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// How to get the files, one line.
pub const FASHION_MNIST_INSTALL: &str = "install Fashion-MNIST with `sudo apt-get install dataset-fashion-mnist` \
     (Debian/Ubuntu, into /usr/share/datasets/fashion-mnist), or put the four *-ubyte.gz files of \
     https://github.com/zalandoresearch/fashion-mnist in a directory and set ANN_FASHION_MNIST_DIR to it";

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Image side (28 pixels), training and test set sizes.
const SIDE: usize = 28;
const N_TRAIN: usize = 60_000;
const N_TEST: usize = 10_000;

/// What the pixel byte p ∈ {0, …, 255} becomes in X.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PixelScale {
    /// x = p / 255, in [0, 1].
    #[default]
    Unit,
    /// x = p, in [0, 255].
    Raw,
}

impl PixelScale {
    /// The value of pixel byte `p`.
    pub fn value(self, p: u8) -> f64 {
        match self {
            PixelScale::Unit => f64::from(p) / 255.0,
            PixelScale::Raw => f64::from(p),
        }
    }
}

/// Images read from an IDX file: X is (rows · cols, n), column-major, one image per column.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    /// Pixels, one image per column, each row by row.
    pub x: Array2<f64>,
    /// Rows of one image.
    pub rows: usize,
    /// Columns of one image.
    pub cols: usize,
}

/// Fashion-MNIST in course layout: X of each set is (784, m), labels in 0..10.
#[derive(Debug, Clone, PartialEq)]
pub struct FashionMnist {
    /// The 60,000 training images.
    pub train: Dataset,
    /// The 10,000 test images.
    pub test: Dataset,
    /// [`FASHION_MNIST_CLASSES`]: the name of label c is `class_names[c]`.
    pub class_names: [&'static str; 10],
    /// The directory the files were read from.
    pub dir: PathBuf,
}

impl FashionMnist {
    /// The name of class `label` ("?" outside 0..10).
    pub fn class_name(&self, label: usize) -> &'static str {
        self.class_names.get(label).copied().unwrap_or("?")
    }
}

/// The directory to read: `dir` if given, else the environment variable
/// [`FASHION_MNIST_DIR_ENV`] if set and not empty, else [`FASHION_MNIST_DEFAULT_DIR`].
pub fn fashion_mnist_dir(dir: Option<&Path>) -> PathBuf {
    if let Some(d) = dir {
        return d.to_path_buf();
    }
    match std::env::var_os(FASHION_MNIST_DIR_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(FASHION_MNIST_DEFAULT_DIR),
    }
}

/// Whether all four [`FASHION_MNIST_FILES`] exist in the directory chosen by
/// [`fashion_mnist_dir`] (their content is checked by [`fashion_mnist`]).
pub fn fashion_mnist_installed(dir: Option<&Path>) -> bool {
    let dir = fashion_mnist_dir(dir);
    FASHION_MNIST_FILES.iter().all(|f| dir.join(f).is_file())
}

/// Loads Fashion-MNIST from the directory chosen by [`fashion_mnist_dir`] (argument, then
/// `ANN_FASHION_MNIST_DIR`, then `/usr/share/datasets/fashion-mnist`).
///
/// Returns the training set (X: (784, 60000)) and the test set (X: (784, 10000)), pixels
/// as `scale` says, labels 0..10 named by [`FASHION_MNIST_CLASSES`]. Memory: 8 bytes per
/// pixel, 376 MB for the training X and 63 MB for the test X.
///
/// Errors, each naming the file: a missing or unreadable file (with how to install the
/// data), a file that is not gzip, a magic number other than 2051 (images) or 2049
/// (labels), images that are not 28×28, counts other than 60,000 / 10,000, a file shorter
/// or longer than its header says, a label ≥ 10.
///
/// ```no_run
/// use ann_core::*;
/// let fm = fashion_mnist(None, PixelScale::Unit)?;
/// assert_eq!((fm.train.x.dim(), fm.test.x.dim()), ((784, 60_000), (784, 10_000)));
/// let y = fm.train.targets(Task::MultiClass); // one-hot (10, 60000)
/// println!("the first training image is a {}", fm.class_name(fm.train.labels[0]));
/// # Ok::<(), AnnError>(())
/// ```
pub fn fashion_mnist(dir: Option<&Path>, scale: PixelScale) -> Result<FashionMnist> {
    let dir = fashion_mnist_dir(dir);
    let train = load_split(&dir, FASHION_MNIST_FILES[0], FASHION_MNIST_FILES[1], N_TRAIN, scale)?;
    let test = load_split(&dir, FASHION_MNIST_FILES[2], FASHION_MNIST_FILES[3], N_TEST, scale)?;
    Ok(FashionMnist { train, test, class_names: FASHION_MNIST_CLASSES, dir })
}

/// Fashion-MNIST with its pixels in f32, for a run in [`Precision::F32`](crate::Precision):
/// X of the training set takes 188 MB instead of [`fashion_mnist`]'s 376 MB. The same files,
/// checks and layout (X (784, m), column-major); each pixel value is f64's rounded to f32.
///
/// ```no_run
/// use ann_core::*;
/// let fm = fashion_mnist_f32(None, PixelScale::Unit)?;
/// let y = fm.train_targets(); // one-hot (10, 60000) in f32
/// let mut net = Network::new(&[784, 128, 10], Activation::Relu, Task::MultiClass, Init::He, 1)?;
/// let config = TrainConfig { batch_size: 128, precision: Precision::F32, ..TrainConfig::default() };
/// fit(&mut net, &mut Optimizer::adam(0.001)?, (&fm.train_x, &y), &config, 1)?;
/// # Ok::<(), AnnError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FashionMnistF32 {
    /// The 60,000 training images, one per column.
    pub train_x: Array2<f32>,
    /// Their labels in 0..10.
    pub train_labels: Vec<usize>,
    /// The 10,000 test images.
    pub test_x: Array2<f32>,
    /// Their labels.
    pub test_labels: Vec<usize>,
    /// [`FASHION_MNIST_CLASSES`].
    pub class_names: [&'static str; 10],
    /// The directory the files were read from.
    pub dir: PathBuf,
}

impl FashionMnistF32 {
    /// Y of the training set: one-hot (10, 60000), in f32.
    pub fn train_targets(&self) -> Array2<f32> {
        one_hot(&self.train_labels, 10).mapv(|v| v as f32)
    }

    /// Y of the test set: one-hot (10, 10000), in f32.
    pub fn test_targets(&self) -> Array2<f32> {
        one_hot(&self.test_labels, 10).mapv(|v| v as f32)
    }
}

/// [`fashion_mnist`] in f32 (see [`FashionMnistF32`]).
pub fn fashion_mnist_f32(dir: Option<&Path>, scale: PixelScale) -> Result<FashionMnistF32> {
    let dir = fashion_mnist_dir(dir);
    let to_f32 = |v: f64| v as f32;
    let (train_x, train_labels) =
        load_pixels(&dir, FASHION_MNIST_FILES[0], FASHION_MNIST_FILES[1], N_TRAIN, scale, to_f32)?;
    let (test_x, test_labels) =
        load_pixels(&dir, FASHION_MNIST_FILES[2], FASHION_MNIST_FILES[3], N_TEST, scale, to_f32)?;
    Ok(FashionMnistF32 {
        train_x,
        train_labels,
        test_x,
        test_labels,
        class_names: FASHION_MNIST_CLASSES,
        dir,
    })
}

/// One split: `n` images of 28×28 and their `n` labels in 0..10.
fn load_split(dir: &Path, images: &str, labels: &str, n: usize, scale: PixelScale) -> Result<Dataset> {
    let (x, labels) = load_pixels(dir, images, labels, n, scale, |v| v)?;
    Dataset::new(x, labels, 10)
}

/// One split's X (each pixel's value through `value`) and labels.
fn load_pixels<F>(
    dir: &Path,
    images: &str,
    labels: &str,
    n: usize,
    scale: PixelScale,
    value: impl Fn(f64) -> F,
) -> Result<(Array2<F>, Vec<usize>)> {
    let image_path = dir.join(images);
    let label_path = dir.join(labels);
    let name = image_path.display().to_string();
    let bytes = read_gz(&image_path)?;
    let (dims, pixels) = split_idx(&bytes, &name, IDX_IMAGES_MAGIC, 3, Some(&[n, SIDE, SIDE]))?;
    let x = to_columns(pixels, dims[1] * dims[2], dims[0], |p| value(scale.value(p)), &name)?;
    drop(bytes);
    let labels = read_idx_labels_expecting(&label_path, Some(n), Some(10))?;
    Ok((x, labels))
}

/// Reads an IDX image file (gzip-compressed if its name ends in `.gz`): any count and any
/// image size, checked against the header.
///
/// Errors name the file: missing, not gzip, magic number not 2051, a zero dimension, fewer
/// or more pixel bytes than n · rows · cols.
pub fn read_idx_images(path: &Path, scale: PixelScale) -> Result<IdxImages> {
    let bytes = read_file(path)?;
    parse_idx_images(&bytes, &path.display().to_string(), scale)
}

/// Reads an IDX label file (gzip-compressed if its name ends in `.gz`): labels as they are.
///
/// Errors name the file: missing, not gzip, magic number not 2049, fewer or more label bytes
/// than the header's count.
pub fn read_idx_labels(path: &Path) -> Result<Vec<usize>> {
    read_idx_labels_expecting(path, None, None)
}

fn read_idx_labels_expecting(path: &Path, n: Option<usize>, classes: Option<usize>) -> Result<Vec<usize>> {
    let bytes = read_file(path)?;
    let name = path.display().to_string();
    let expected = n.map(|n| [n]);
    let (_, data) = split_idx(&bytes, &name, IDX_LABELS_MAGIC, 1, expected.as_ref().map(|e| &e[..]))?;
    check_labels(data, &name, classes)?;
    Ok(data.iter().map(|&b| usize::from(b)).collect())
}

/// Parses the (uncompressed) bytes of an IDX image file; `name` is used in error messages.
/// X is (rows · cols, n), column-major.
pub fn parse_idx_images(bytes: &[u8], name: &str, scale: PixelScale) -> Result<IdxImages> {
    let (dims, pixels) = split_idx(bytes, name, IDX_IMAGES_MAGIC, 3, None)?;
    if dims.contains(&0) {
        return Err(AnnError::EmptyInput(format!(
            "{name}: {} images of {}×{} pixels (every dimension must be at least 1)",
            dims[0], dims[1], dims[2]
        )));
    }
    let x = to_columns(pixels, dims[1] * dims[2], dims[0], |p| scale.value(p), name)?;
    Ok(IdxImages { x, rows: dims[1], cols: dims[2] })
}

/// Parses the (uncompressed) bytes of an IDX label file; `name` is used in error messages.
pub fn parse_idx_labels(bytes: &[u8], name: &str) -> Result<Vec<usize>> {
    let (_, data) = split_idx(bytes, name, IDX_LABELS_MAGIC, 1, None)?;
    Ok(data.iter().map(|&b| usize::from(b)).collect())
}

fn check_labels(data: &[u8], name: &str, classes: Option<usize>) -> Result<()> {
    if let Some(k) = classes
        && let Some((j, &bad)) = data.iter().enumerate().find(|(_, b)| usize::from(**b) >= k)
    {
        return Err(AnnError::InvalidLabels(format!(
            "{name}: label {bad} of example {j} (counted from 0) is not in 0..{k}"
        )));
    }
    Ok(())
}

/// Pixel bytes, image after image, as X (pixels, n) in column-major order.
fn to_columns<F>(
    pixels: &[u8],
    per_image: usize,
    n: usize,
    value: impl Fn(u8) -> F,
    name: &str,
) -> Result<Array2<F>> {
    let values: Vec<F> = pixels.iter().map(|&p| value(p)).collect();
    Array2::from_shape_vec((per_image, n).f(), values).map_err(|e| AnnError::ShapeMismatch {
        context: format!("{name}: pixels of {n} images"),
        expected: format!("{per_image} · {n} values"),
        got: e.to_string(),
    })
}

/// The header's dimensions and the data bytes of an IDX file, after checking the magic
/// number (`0x08` = unsigned bytes, then the number of dimensions), the expected dimensions
/// if given, and that the data has exactly the product of the dimensions in bytes.
fn split_idx<'a>(
    bytes: &'a [u8],
    name: &str,
    magic: u32,
    ndim: usize,
    expected: Option<&[usize]>,
) -> Result<(Vec<usize>, &'a [u8])> {
    let kind = if ndim == 1 { "labels" } else { "images" };
    let header = 4 + 4 * ndim;
    let short = |len: usize| AnnError::ShapeMismatch {
        context: format!("{name}: IDX header of {kind}"),
        expected: format!("at least {header} bytes (magic number {magic} and {ndim} dimension(s))"),
        got: format!("{len} bytes"),
    };
    if bytes.len() < 4 {
        return Err(short(bytes.len()));
    }
    let word =
        |i: usize| u32::from_be_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
    let found = word(0);
    if found != magic {
        return Err(AnnError::ShapeMismatch {
            context: format!("{name}: IDX magic number"),
            expected: format!("{magic} ({kind}: unsigned bytes, {ndim} dimension(s))"),
            got: found.to_string(),
        });
    }
    if bytes.len() < header {
        return Err(short(bytes.len()));
    }
    let dims: Vec<usize> = (1..=ndim).map(|i| word(i) as usize).collect();
    if let Some(want) = expected
        && want != dims.as_slice()
    {
        return Err(AnnError::ShapeMismatch {
            context: format!("{name}: dimensions in the IDX header"),
            expected: describe(want),
            got: describe(&dims),
        });
    }
    let data = &bytes[header..];
    let size = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if size != Some(data.len()) {
        return Err(AnnError::ShapeMismatch {
            context: format!("{name}: length (truncated or corrupted file?)"),
            expected: match size {
                Some(s) => {
                    format!("{header} + {s} = {} bytes for {}", header as u128 + s as u128, describe(&dims))
                }
                None => format!("a size that fits in memory for {}", describe(&dims)),
            },
            got: format!("{} bytes", bytes.len()),
        });
    }
    Ok((dims, data))
}

/// "60,000 images of 28×28" / "60,000 labels".
fn describe(dims: &[usize]) -> String {
    match dims {
        [n] => format!("{} labels", thousands(*n)),
        [n, r, c] => format!("{} images of {r}×{c}", thousands(*n)),
        _ => format!("{dims:?}"),
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The bytes of `path`, decompressed if its name ends in `.gz`.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    if path.extension().is_some_and(|e| e == "gz") {
        read_gz(path)
    } else {
        std::fs::read(path).map_err(|e| open_error(path, &e))
    }
}

fn read_gz(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| open_error(path, &e))?;
    let mut bytes = Vec::new();
    GzDecoder::new(std::io::BufReader::new(file))
        .read_to_end(&mut bytes)
        .map_err(|e| AnnError::EmptyInput(format!("{}: not a complete gzip file ({e})", path.display())))?;
    Ok(bytes)
}

fn open_error(path: &Path, e: &std::io::Error) -> AnnError {
    let hint = if e.kind() == std::io::ErrorKind::NotFound {
        format!("; {FASHION_MNIST_INSTALL}")
    } else {
        String::new()
    };
    AnnError::EmptyInput(format!("{}: cannot open ({e}){hint}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ann_fmnist_{tag}_{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Two 2×3 images: pixel values 0..6 and 250..255, stored image after image, row by row.
    fn two_images() -> Vec<u8> {
        idx(IDX_IMAGES_MAGIC, &[2, 2, 3], &[0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255])
    }

    #[test]
    fn images_become_columns_row_by_row() {
        let img = parse_idx_images(&two_images(), "t", PixelScale::Raw).unwrap();
        assert_eq!((img.rows, img.cols, img.x.dim()), (2, 3, (6, 2)));
        assert_eq!(img.x.column(0).to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(img.x[[5, 1]], 255.0);
        // Column-major: each image is contiguous in memory.
        assert_eq!(img.x.as_slice_memory_order().unwrap()[6], 250.0);
        assert!(img.x.t().is_standard_layout());
        let unit = parse_idx_images(&two_images(), "t", PixelScale::Unit).unwrap();
        assert_eq!(unit.x[[1, 0]], 1.0 / 255.0);
        assert_eq!(unit.x[[5, 1]], 1.0);
    }

    #[test]
    fn labels_and_their_magic_number() {
        assert_eq!(parse_idx_labels(&idx(IDX_LABELS_MAGIC, &[3], &[9, 0, 4]), "l").unwrap(), vec![9, 0, 4]);
        let err = parse_idx_labels(&two_images(), "labels.idx").unwrap_err().to_string();
        assert!(err.contains("labels.idx") && err.contains("2049") && err.contains("2051"), "{err}");
        let err =
            parse_idx_images(&idx(IDX_LABELS_MAGIC, &[1], &[1]), "img.idx", PixelScale::Raw).unwrap_err();
        assert!(err.to_string().contains("img.idx: IDX magic number"), "{err}");
    }

    #[test]
    fn short_long_and_empty_files_are_errors() {
        let full = two_images();
        let short = parse_idx_images(&full[..full.len() - 1], "x", PixelScale::Raw).unwrap_err().to_string();
        assert!(short.contains("28 bytes") && short.contains("got 27 bytes"), "{short}");
        let mut long = full.clone();
        long.push(0);
        assert!(parse_idx_images(&long, "x", PixelScale::Raw).is_err());
        let header = parse_idx_images(&full[..10], "x", PixelScale::Raw).unwrap_err().to_string();
        assert!(header.contains("at least 16 bytes"), "{header}");
        let zero =
            parse_idx_images(&idx(IDX_IMAGES_MAGIC, &[0, 28, 28], &[]), "x", PixelScale::Raw).unwrap_err();
        assert!(matches!(zero, AnnError::EmptyInput(_)));
        // A header whose size overflows usize.
        let huge = idx(IDX_IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[1, 2]);
        assert!(parse_idx_images(&huge, "x", PixelScale::Raw).is_err());
    }

    #[test]
    fn reads_gz_files_and_names_them_in_errors() {
        let dir = temp_dir("files");
        let img = dir.join("images-idx3-ubyte.gz");
        std::fs::write(&img, gz(&two_images())).unwrap();
        assert_eq!(read_idx_images(&img, PixelScale::Raw).unwrap().x.ncols(), 2);
        let lab = dir.join("labels-idx1-ubyte");
        std::fs::write(&lab, idx(IDX_LABELS_MAGIC, &[2], &[3, 7])).unwrap();
        assert_eq!(read_idx_labels(&lab).unwrap(), vec![3, 7]);
        // A truncated gzip stream.
        let bytes = gz(&two_images());
        std::fs::write(&img, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_idx_images(&img, PixelScale::Raw).unwrap_err().to_string();
        assert!(err.contains("images-idx3-ubyte.gz") && err.contains("gzip"), "{err}");
        let missing = read_idx_labels(&dir.join("nothing.gz")).unwrap_err().to_string();
        assert!(
            missing.contains("nothing.gz") && missing.contains("apt-get install dataset-fashion-mnist"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A directory with the four file names holding `n_train` and `n_test` images of
    /// `side`×`side`, pixel j of image i = (i + j) mod 256, label i mod 10 (+ `label_offset`).
    fn fake_dir(tag: &str, n_train: u32, n_test: u32, side: u32, label_offset: u8) -> PathBuf {
        let dir = temp_dir(tag);
        for (k, n) in [(0, n_train), (2, n_test)] {
            let px: Vec<u8> =
                (0..n * side * side).map(|t| ((t / (side * side) + t % (side * side)) % 256) as u8).collect();
            std::fs::write(
                dir.join(FASHION_MNIST_FILES[k]),
                gz(&idx(IDX_IMAGES_MAGIC, &[n, side, side], &px)),
            )
            .unwrap();
            let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8 + label_offset).collect();
            std::fs::write(dir.join(FASHION_MNIST_FILES[k + 1]), gz(&idx(IDX_LABELS_MAGIC, &[n], &labels)))
                .unwrap();
        }
        dir
    }

    #[test]
    fn a_split_of_any_size_in_course_layout() {
        let dir = fake_dir("split", 12, 5, 28, 0);
        let d =
            load_split(&dir, FASHION_MNIST_FILES[0], FASHION_MNIST_FILES[1], 12, PixelScale::Unit).unwrap();
        assert_eq!((d.x.dim(), d.n_classes), ((784, 12), 10));
        assert_eq!(d.labels[..3], [0, 1, 2]);
        assert_eq!(d.x[[1, 2]], 3.0 / 255.0);
        assert!(d.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(fashion_mnist_installed(Some(&dir)));
        // The real counts are required by `fashion_mnist`.
        let err = fashion_mnist(Some(&dir), PixelScale::Unit).unwrap_err().to_string();
        assert!(
            err.contains("train-images-idx3-ubyte.gz") && err.contains("60,000 images of 28×28"),
            "{err}"
        );
        assert!(err.contains("got 12 images of 28×28"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_image_size_and_labels_out_of_range() {
        let dir = fake_dir("side", 4, 2, 27, 0);
        let err =
            load_split(&dir, FASHION_MNIST_FILES[2], FASHION_MNIST_FILES[3], 2, PixelScale::Raw).unwrap_err();
        assert!(err.to_string().contains("expected 2 images of 28×28, got 2 images of 27×27"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        let dir = fake_dir("labels", 4, 2, 28, 7);
        let err =
            load_split(&dir, FASHION_MNIST_FILES[0], FASHION_MNIST_FILES[1], 4, PixelScale::Raw).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("train-labels-idx1-ubyte.gz") && msg.contains("label 10 of example 3"), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
        // Fewer labels than images.
        let dir = fake_dir("count", 4, 2, 28, 0);
        std::fs::write(dir.join(FASHION_MNIST_FILES[1]), gz(&idx(IDX_LABELS_MAGIC, &[3], &[0, 1, 2])))
            .unwrap();
        let err =
            load_split(&dir, FASHION_MNIST_FILES[0], FASHION_MNIST_FILES[1], 4, PixelScale::Raw).unwrap_err();
        assert!(err.to_string().contains("expected 4 labels, got 3 labels"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_directory_argument_wins_and_a_missing_directory_explains_itself() {
        let given = Path::new("/some/where");
        assert_eq!(fashion_mnist_dir(Some(given)), given);
        let missing = Path::new("/nonexistent/fashion-mnist");
        assert!(!fashion_mnist_installed(Some(missing)));
        let err = fashion_mnist(Some(missing), PixelScale::Unit).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/fashion-mnist/train-images-idx3-ubyte.gz"), "{err}");
        assert!(err.contains("ANN_FASHION_MNIST_DIR"), "{err}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(60_000), "60,000");
        assert_eq!(thousands(784), "784");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
