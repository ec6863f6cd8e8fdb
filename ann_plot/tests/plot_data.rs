//! Data-set scatter plots (`plot::dataset`, `plot::datasets`) and run comparisons
//! (`plot::compare_runs`): sizes, text, determinism, and errors instead of panics.

use ann_core::*;
use ann_plot::{self as plot, Figure, PlotError};
use ndarray::{Array2, array};

/// (width, height) from the PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Whether the SVG has a `<text>` element reading `text` (XML-escaped).
fn has_text(svg: &str, text: &str) -> bool {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    svg.contains(&format!(">\n{escaped}\n</text>"))
}

fn check_figure(fig: &Figure, width: u32, height: u32, title: &str) {
    assert_eq!((fig.width(), fig.height()), (width, height));
    // Wider figures shrink below legibility in a notebook column.
    assert!(width <= plot::style::COLUMN_WIDTH, "{title}: {width} px wide");
    assert_eq!(png_size(fig.png_bytes()), (width, height));
    assert!(has_text(fig.svg(), title), "SVG shows the title {title:?}");
    assert_eq!(fig.title(), title);
}

#[test]
fn one_dataset_is_a_scatter_with_a_legend_per_class() {
    let d = spirals(150, 3, 0.1, 1).unwrap();
    let fig = plot::dataset(d.x.view(), &d.labels, "three spirals").unwrap();
    check_figure(&fig, 900, 700, "three spirals");
    for text in ["x₁", "x₂", "class 0", "class 1", "class 2"] {
        assert!(has_text(fig.svg(), text), "missing {text:?}");
    }
    // One disc per point (plus the legend markers).
    assert!(fig.svg().matches("<circle").count() >= 150);
    // Deterministic, and a default title.
    assert_eq!(fig, plot::dataset(d.x.view(), &d.labels, "three spirals").unwrap());
    assert_eq!(plot::dataset(d.x.view(), &d.labels, "").unwrap().title(), "Data set (m = 150)");
}

#[test]
fn a_grid_of_datasets_has_one_captioned_panel_each() {
    let moons = two_moons(100, 0.1, 1).unwrap();
    let rings = circles(100, 0.05, 0.5, 2).unwrap();
    let b = blobs(90, 3, 2, 0.5, 3).unwrap();
    let x = xor(80, 0.0, 4).unwrap();
    let panels = [(&moons, "moons"), (&rings, "circles"), (&b, "blobs"), (&x, "XOR")];
    let fig = plot::datasets(&panels, "four sets").unwrap();
    // Two rows of three columns.
    check_figure(&fig, 1000, 2 * (1000 / 3 * 11 / 10) + 50 + 36, "four sets");
    for caption in ["moons (m = 100)", "circles (m = 100)", "blobs (m = 90)", "XOR (m = 80)", "class 2"] {
        assert!(has_text(fig.svg(), caption), "missing {caption:?}");
    }
    // A single panel is narrower but not below 700 px; a lone row has one row height.
    let fig = plot::datasets(&[(&moons, "moons")], "").unwrap();
    check_figure(&fig, 700, 520, "1 data sets");
}

#[test]
fn bad_datasets_are_errors_not_panics() {
    let moons = two_moons(20, 0.1, 1).unwrap();
    assert!(matches!(plot::datasets(&[], "").unwrap_err(), PlotError::Ann(AnnError::EmptyInput(_))));
    let many: Vec<(&Dataset, &str)> = (0..10).map(|_| (&moons, "m")).collect();
    assert!(plot::datasets(&many, "").is_err());
    // Not 2-D, empty, non-finite, labels missing.
    let three_d = blobs(10, 2, 3, 1.0, 0).unwrap();
    assert!(matches!(
        plot::datasets(&[(&three_d, "3-D")], "").unwrap_err(),
        PlotError::Ann(AnnError::ShapeMismatch { .. })
    ));
    assert!(plot::dataset(Array2::<f64>::zeros((2, 0)).view(), &[], "").is_err());
    assert!(plot::dataset(array![[0.0, f64::NAN], [1.0, 2.0]].view(), &[0, 1], "").is_err());
    assert!(plot::dataset(array![[0.0, 1.0], [1.0, 2.0]].view(), &[0], "").is_err());
    // A constant data set (zero span) still draws.
    assert!(plot::dataset(array![[1.0, 1.0], [2.0, 2.0]].view(), &[0, 1], "flat").is_ok());
}

fn history(loss: &[f64], acc: &[f64], val: bool) -> History {
    History {
        train_loss: loss.to_vec(),
        train_accuracy: acc.to_vec(),
        val_loss: if val { loss.iter().map(|v| v + 0.05).collect() } else { vec![] },
        val_accuracy: if val { acc.iter().map(|v| v - 0.02).collect() } else { vec![] },
        ..History::default()
    }
}

#[test]
fn compare_runs_draws_one_line_per_run() {
    let a = history(&[0.6, 0.4, 0.3], &[0.7, 0.8, 0.9], true);
    let b = history(&[0.69, 0.68, 0.67, 0.66], &[0.5, 0.52, 0.55, 0.6], true);
    let fig =
        plot::compare_runs(&[("scaled", &a), ("raw", &b)], Loss::BinaryCrossEntropy, "scaling").unwrap();
    check_figure(&fig, 1000, 480, "scaling");
    for text in ["scaled", "raw", "validation accuracy", "loss J (binary cross-entropy)", "epoch"] {
        assert!(has_text(fig.svg(), text), "missing {text:?}");
    }
    // Without validation data the training accuracy is shown, and said so.
    let c = history(&[0.5, 0.4], &[0.8, 0.85], false);
    let fig = plot::compare_runs(&[("a", &a), ("c", &c)], Loss::CrossEntropy, "").unwrap();
    assert_eq!(fig.title(), "2 training runs");
    assert!(has_text(fig.svg(), "accuracy (validation if recorded, else train)"));
    // A regression history (no accuracy) draws the loss panel alone.
    let r = History { train_loss: vec![1.0, 0.5], ..History::default() };
    assert!(plot::compare_runs(&[("r", &r)], Loss::MeanSquaredError, "mse").is_ok());
}

#[test]
fn compare_runs_rejects_bad_input() {
    let a = history(&[0.6, 0.4], &[0.7, 0.8], false);
    assert!(matches!(
        plot::compare_runs(&[], Loss::CrossEntropy, "").unwrap_err(),
        PlotError::Ann(AnnError::EmptyInput(_))
    ));
    let many: Vec<(&str, &History)> = (0..8).map(|_| ("a", &a)).collect();
    assert!(plot::compare_runs(&many, Loss::CrossEntropy, "").is_err());
    let empty = History::default();
    assert!(plot::compare_runs(&[("e", &empty)], Loss::CrossEntropy, "").is_err());
    let nan = history(&[0.6, f64::NAN], &[0.7, 0.8], false);
    assert!(matches!(
        plot::compare_runs(&[("nan", &nan)], Loss::CrossEntropy, "").unwrap_err(),
        PlotError::Ann(AnnError::NonFinite(_))
    ));
}
