//! The playgrounds' Vega-Lite specs: valid JSON objects with what Vega-Lite needs (inlined
//! data, bound parameters whose defaults are among their options, the fields the encodings
//! use), one row per run and frame, the same bytes for the same seeds, and a PNG fallback.

use ann_core::{Activation, AdamConfig, OptimizerConfig, SgdConfig};
use ann_plot::experiments::{OptimizerCurvesConfig, OptimizerPathsConfig, ToyData};
use ann_plot::playground::*;
use ann_plot::{Figure, Playground};
use serde_json::{Value, json};

fn small_boundary() -> BoundaryPlaygroundConfig {
    BoundaryPlaygroundConfig {
        data: ToyData::Moons { m: 80, noise: 0.2 },
        learning_rates: vec![0.01, 0.03],
        activations: vec![Activation::Relu, Activation::Tanh],
        widths: vec![3],
        epochs: 4,
        frame_every: 2,
        grid_points: 7,
        ..BoundaryPlaygroundConfig::default()
    }
}

fn small_optimizers() -> OptimizerLrPlaygroundConfig {
    OptimizerLrPlaygroundConfig {
        curves: OptimizerCurvesConfig {
            data: ToyData::Spirals { m: 60, k: 3, noise: 0.2 },
            hidden: vec![6],
            optimizers: vec![SgdConfig { lr: 0.1 }.into(), OptimizerConfig::Adam(AdamConfig::default())],
            epochs: 3,
            ..OptimizerCurvesConfig::default()
        },
        learning_rates: vec![0.01, 100.0],
        default_lr: 0.01,
    }
}

fn small_paths() -> OptimizerPathsConfig {
    OptimizerPathsConfig { steps: 12, grid_points: 30, ..OptimizerPathsConfig::default() }
}

fn small_dropout() -> DropoutPlaygroundConfig {
    DropoutPlaygroundConfig {
        m: 120,
        hidden: vec![8, 8],
        epochs: 5,
        keep_probs: vec![1.0, 0.5],
        default_keep: 0.5,
        grid_points: 9,
        ..DropoutPlaygroundConfig::default()
    }
}

/// The parameters a spec binds to inputs: (name, input kind, default, options).
fn params(spec: &Value) -> Vec<(String, String, Value, Vec<Value>)> {
    spec["params"]
        .as_array()
        .expect("params")
        .iter()
        .map(|p| {
            let bind = &p["bind"];
            let options = bind["options"].as_array().cloned().unwrap_or_default();
            (
                p["name"].as_str().unwrap().to_string(),
                bind["input"].as_str().unwrap().to_string(),
                p["value"].clone(),
                options,
            )
        })
        .collect()
}

/// Checks shared by all four: a JSON object without URLs, within the size limit, every
/// menu's default among its options and every slider's default in its range, the spec
/// JSON stable, a PNG fallback.
fn check_common(pg: &Playground, expected: &[(&str, &str)]) {
    let spec = pg.spec();
    let text = pg.spec_json();
    assert!(text.len() <= MAX_SPEC_BYTES, "{} bytes", text.len());
    assert!(!text.contains("\"url\"") && !text.contains("http"), "no URLs");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), *spec, "valid JSON, read back the same");
    let got = params(spec);
    let names: Vec<(&str, &str)> = got.iter().map(|(n, k, _, _)| (n.as_str(), k.as_str())).collect();
    assert_eq!(names, expected);
    for (name, kind, value, options) in &got {
        match kind.as_str() {
            "select" => assert!(options.contains(value), "{name}: {value} not in {options:?}"),
            "range" => {
                let (min, max) = (spec_bind(spec, name, "min"), spec_bind(spec, name, "max"));
                let v = value.as_f64().unwrap();
                assert!(min <= v && v <= max, "{name}: {v} outside [{min}, {max}]");
            }
            other => panic!("unexpected input {other}"),
        }
    }
    assert!(pg.fallback().png_bytes().starts_with(b"\x89PNG"));
    assert!(pg.to_string().starts_with("Playground \""), "{pg}");
}

fn spec_bind(spec: &Value, name: &str, key: &str) -> f64 {
    let p = spec["params"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap();
    p["bind"][key].as_f64().unwrap()
}

/// The numbers of a packed field (comma-separated in one string).
fn unpacked(v: &Value) -> Vec<f64> {
    v.as_str().expect("a packed field").split(',').map(|x| x.parse().unwrap()).collect()
}

/// Every field an encoding names exists in the rows it draws (before the transforms add
/// their own): checked for the inlined rows' own fields.
fn rows<'a>(spec: &'a Value, dataset: &str) -> &'a Vec<Value> {
    spec["datasets"][dataset].as_array().unwrap_or_else(|| panic!("dataset {dataset}"))
}

#[test]
fn boundary_playground_has_one_map_per_run_and_frame() {
    let config = small_boundary();
    let pg = boundary_playground(&config).unwrap();
    check_common(&pg, &[("epoch", "range"), ("lr", "select"), ("g", "select"), ("units", "select")]);
    let frames = rows(pg.spec(), "frames");
    // 2 α × 2 g × 1 width, frames at epochs 0, 2, 4.
    assert_eq!(frames.len(), 4 * 3);
    for f in frames {
        let cells = f["cells"].as_str().unwrap();
        assert_eq!(cells.len(), 7 * 7, "one symbol per grid point");
        assert!(cells.chars().all(|c| LEVELS.contains(c)));
        for key in ["lr", "g", "units", "epoch", "loss", "accuracy"] {
            assert!(!f[key].is_null(), "{key}");
        }
    }
    assert_eq!(frames.iter().filter(|f| f["g"] == "tanh").count(), 6);
    assert_eq!(pg.spec()["layer"].as_array().unwrap().len(), 3);
    // Same seeds, same bytes (spec and PNG).
    assert_eq!(boundary_playground(&config).unwrap(), pg);
    let other = boundary_playground(&BoundaryPlaygroundConfig { seed: 6, ..config }).unwrap();
    assert_ne!(other.spec_json(), pg.spec_json());
}

#[test]
fn optimizer_playground_has_a_curve_per_optimizer_and_rate() {
    let config = small_optimizers();
    let pg = optimizer_lr_playground(&config).unwrap();
    check_common(&pg, &[("lr", "select")]);
    let data = pg.spec()["data"]["values"].as_array().unwrap();
    assert_eq!(data.len(), 2 * 2, "a row per (α, optimizer)");
    // At α = 0.01 both runs have the initial loss and 3 epochs; at α = 100 they may diverge
    // and stop early (never a non-finite number in the spec).
    let row = |lr: f64, name: &str| data.iter().find(|r| r["lr"] == lr && r["optimizer"] == name).unwrap();
    assert_eq!(
        (unpacked(&row(0.01, "SGD")["loss"]).len(), unpacked(&row(0.01, "Adam")["loss"]).len()),
        (4, 4)
    );
    assert_eq!(unpacked(&row(0.01, "SGD")["epoch"]), [0.0, 1.0, 2.0, 3.0]);
    assert!((1..=4).contains(&unpacked(&row(100.0, "SGD")["loss"]).len()));
    assert!(data.iter().all(|r| unpacked(&r["loss"]).iter().all(|l| l.is_finite())));
    assert_eq!(optimizer_lr_playground(&config).unwrap(), pg);
    let bad = OptimizerLrPlaygroundConfig { default_lr: 0.5, ..config };
    assert!(optimizer_lr_playground(&bad).is_err());
}

#[test]
fn path_playground_has_every_step_of_every_path() {
    let config = small_paths();
    let pg = optimizer_path_playground(&config).unwrap();
    check_common(&pg, &[("t", "range")]);
    assert_eq!(spec_bind(pg.spec(), "t", "max"), 12.0);
    let paths = rows(pg.spec(), "paths");
    assert_eq!(paths.len(), 4, "4 optimizers");
    for p in paths {
        let lens: Vec<usize> = ["t", "x", "y", "f"].iter().map(|k| unpacked(&p[*k]).len()).collect();
        assert_eq!(lens, [13; 4], "the start and 12 steps");
    }
    let surface = rows(pg.spec(), "surface");
    assert_eq!(surface[0]["cells"].as_str().unwrap().len(), 30 * 30);
    assert_eq!(optimizer_path_playground(&config).unwrap(), pg);
}

#[test]
fn dropout_playground_has_curves_and_a_map_per_keep_probability() {
    let config = small_dropout();
    let pg = dropout_playground(&config).unwrap();
    check_common(&pg, &[("keep", "select")]);
    let curves = rows(pg.spec(), "curves");
    assert_eq!(curves.len(), 2 * 2, "2 p × (training, validation)");
    assert!(
        curves
            .iter()
            .all(|c| unpacked(&c["epoch"]) == [1.0, 2.0, 3.0, 4.0, 5.0] && unpacked(&c["loss"]).len() == 5)
    );
    let maps = rows(pg.spec(), "maps");
    assert_eq!(maps.len(), 2);
    assert!(maps.iter().all(|m| m["cells"].as_str().unwrap().len() == 81));
    assert_eq!(pg.spec()["hconcat"].as_array().unwrap().len(), 2);
    assert_eq!(dropout_playground(&config).unwrap(), pg);
    assert!(
        dropout_playground(&DropoutPlaygroundConfig { keep_probs: vec![1.5], default_keep: 1.5, ..config })
            .is_err()
    );
}

#[test]
fn specs_that_are_too_big_or_load_urls_are_errors() {
    let fig = Figure::from_drawing(10, 10, "blank", &Blank).unwrap();
    let url = json!({"data": {"url": "https://example.com/data.csv"}, "mark": "point"});
    assert!(Playground::new("u", url, fig.clone()).unwrap_err().to_string().contains("/data/url"));
    let big = json!({"data": {"values": vec![0u8; MAX_SPEC_BYTES / 2 + 1]}});
    assert!(Playground::new("big", big, fig.clone()).unwrap_err().to_string().contains("bytes"));
    assert!(Playground::new("array", json!([1, 2]), fig.clone()).is_err());
    let reserved = json!({"params": [{"name": "width", "value": 3}], "mark": "point"});
    assert!(Playground::new("w", reserved, fig).unwrap_err().to_string().contains("\"width\""));
}

struct Blank;
impl ann_plot::Draw for Blank {
    fn draw<DB: ann_plot::plotters::prelude::DrawingBackend>(
        &self,
        _area: &ann_plot::plotters::prelude::DrawingArea<DB, ann_plot::plotters::coord::Shift>,
    ) -> ann_plot::Result<()> {
        Ok(())
    }
}
