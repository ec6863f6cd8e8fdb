//! The Fashion-MNIST loader: corrupted headers, truncated and damaged files give an error
//! naming the file, never a panic (property tests on small IDX files written here); the
//! environment variable picks the directory; and, where the data is installed, the real
//! files load with their known counts.

use ann_core::PixelScale;
use ann_core::fashion_mnist::*;
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// A valid image file: `n` images of `rows`×`cols` with arbitrary pixels.
fn images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let px: Vec<u8> = (0..n * rows * cols).map(|i| (i * 37 % 256) as u8).collect();
    idx(IDX_IMAGES_MAGIC, &[n, rows, cols], &px)
}

fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked"))
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ann_fmnist_prop_{tag}_{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Any bytes overwritten in the 16-byte header of a valid image file: either the file
    /// still parses (and then X has the shape the header says) or it is an error.
    #[test]
    fn corrupted_image_headers_never_panic(
        n in 1u32..4, rows in 1u32..6, cols in 1u32..6,
        edits in prop::collection::vec((0usize..16, any::<u8>()), 1..6),
        scale in prop::sample::select(vec![PixelScale::Unit, PixelScale::Raw]),
    ) {
        let mut bytes = images(n, rows, cols);
        for &(i, b) in &edits {
            bytes[i] = b;
        }
        match no_panic("parse_idx_images", || parse_idx_images(&bytes, "corrupted", scale)) {
            Ok(img) => prop_assert_eq!(img.x.len() + 16, bytes.len()),
            Err(e) => prop_assert!(e.to_string().contains("corrupted"), "{}", e),
        }
    }

    /// Label files with a corrupted header, any length, any bytes.
    #[test]
    fn corrupted_label_files_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..40), magic in any::<bool>()) {
        let mut bytes = bytes;
        if magic && bytes.len() >= 4 {
            bytes[..4].copy_from_slice(&IDX_LABELS_MAGIC.to_be_bytes());
        }
        if let Err(e) = no_panic("parse_idx_labels", || parse_idx_labels(&bytes, "labels.idx")) {
            prop_assert!(e.to_string().contains("labels.idx"), "{}", e);
        }
    }

    /// A valid image file cut anywhere, uncompressed or as a cut gzip stream: always an
    /// error naming the file.
    #[test]
    fn truncated_files_are_errors(n in 1u32..5, side in 1u32..8, cut in 0.0f64..1.0, compressed in any::<bool>()) {
        let raw = images(n, side, side);
        let bytes = if compressed { gz(&raw) } else { raw };
        let keep = ((bytes.len() as f64) * cut) as usize;
        let dir = scratch("cut");
        let path = dir.join(if compressed { "cut-idx3-ubyte.gz" } else { "cut-idx3-ubyte" });
        std::fs::write(&path, &bytes[..keep.min(bytes.len() - 1)]).unwrap();
        let err = no_panic("read_idx_images", || read_idx_images(&path, PixelScale::Unit));
        prop_assert!(err.is_err());
        prop_assert!(err.unwrap_err().to_string().contains("cut-idx3-ubyte"));
        std::fs::remove_file(&path).unwrap();
    }

    /// Random bytes where a gzip file should be.
    #[test]
    fn garbage_gzip_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let dir = scratch("garbage");
        let path = dir.join("garbage-idx1-ubyte.gz");
        std::fs::write(&path, &bytes).unwrap();
        let r = no_panic("read_idx_labels", || read_idx_labels(&path));
        if let Err(e) = r {
            prop_assert!(e.to_string().contains("garbage-idx1-ubyte.gz"), "{}", e);
        }
        std::fs::remove_file(&path).unwrap();
    }

    /// A directory of four small, valid files is not Fashion-MNIST: an error, no panic.
    #[test]
    fn wrong_counts_are_errors(n in 1u32..4, side in prop::sample::select(vec![27u32, 28, 29])) {
        let dir = scratch(&format!("dir{n}_{side}"));
        for (k, name) in FASHION_MNIST_FILES.iter().enumerate() {
            let bytes = if k % 2 == 0 { images(n, side, side) } else { idx(IDX_LABELS_MAGIC, &[n], &vec![1; n as usize]) };
            std::fs::write(dir.join(name), gz(&bytes)).unwrap();
        }
        let err = no_panic("fashion_mnist", || fashion_mnist(Some(&dir), PixelScale::Unit));
        prop_assert!(err.unwrap_err().to_string().contains("60,000 images of 28×28"));
    }
}

/// The environment variable chooses the directory when no argument is given; then, if the
/// data is installed where the environment says, the real files load (one test, so that no
/// other test of this binary reads the variable while it is changed).
#[test]
fn environment_variable_then_the_installed_data() {
    let before = std::env::var_os(FASHION_MNIST_DIR_ENV);
    let elsewhere = scratch("env");
    // SAFETY: no other test of this binary reads or writes the environment.
    unsafe { std::env::set_var(FASHION_MNIST_DIR_ENV, &elsewhere) };
    assert_eq!(fashion_mnist_dir(None), elsewhere);
    assert!(!fashion_mnist_installed(None));
    let err = fashion_mnist(None, PixelScale::Unit).unwrap_err().to_string();
    assert!(err.contains(&*elsewhere.to_string_lossy()), "{err}");
    unsafe { std::env::set_var(FASHION_MNIST_DIR_ENV, "") };
    assert_eq!(fashion_mnist_dir(None), Path::new(FASHION_MNIST_DEFAULT_DIR));
    match &before {
        // SAFETY: as above.
        Some(v) => unsafe { std::env::set_var(FASHION_MNIST_DIR_ENV, v) },
        None => unsafe { std::env::remove_var(FASHION_MNIST_DIR_ENV) },
    }

    if !fashion_mnist_installed(None) {
        eprintln!(
            "Fashion-MNIST not installed: skipping the check of the real files ({FASHION_MNIST_INSTALL})"
        );
        return;
    }
    let fm = fashion_mnist(None, PixelScale::Unit).unwrap();
    assert_eq!((fm.train.x.dim(), fm.test.x.dim()), ((784, 60_000), (784, 10_000)));
    // Both sets are balanced: 6,000 and 1,000 images of each class.
    for c in 0..10 {
        assert_eq!(fm.train.labels.iter().filter(|&&l| l == c).count(), 6_000);
        assert_eq!(fm.test.labels.iter().filter(|&&l| l == c).count(), 1_000);
    }
    // The first training and test images are ankle boots.
    assert_eq!(
        (fm.class_name(fm.train.labels[0]), fm.class_name(fm.test.labels[0])),
        ("Ankle boot", "Ankle boot")
    );
    let (lo, hi) = fm.train.x.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert_eq!((lo, hi), (0.0, 1.0));
    // In f32: the same pixels, each rounded once, in the same column-major layout.
    let f32s = fashion_mnist_f32(None, PixelScale::Unit).unwrap();
    assert_eq!(f32s.train_x, fm.train.x.mapv(|v| v as f32));
    assert_eq!(f32s.test_x, fm.test.x.mapv(|v| v as f32));
    assert_eq!(f32s.train_x.strides(), fm.train.x.strides());
    assert_eq!((&f32s.train_labels, &f32s.test_labels), (&fm.train.labels, &fm.test.labels));
    assert_eq!(f32s.train_targets(), fm.train.targets(ann_core::Task::MultiClass).mapv(|v| v as f32));
}
