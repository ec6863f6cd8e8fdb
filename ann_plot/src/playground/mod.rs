//! Playgrounds: a set of real, seeded training runs that the learner scrubs through with
//! sliders and menus, in the notebook, offline.
//!
//! A [`Playground`] is a Vega-Lite v5 specification with every number of the runs inlined
//! (no URLs), which JupyterLab draws with its own bundled renderer, sliders included, also in
//! an untrusted notebook; and a PNG [`Figure`] of the default view, which every other front
//! end (GitHub, nbconvert) shows instead. Every frame is computed by the crate when the cell
//! runs: the browser only picks which one to show.
//!
//! | playground | function |
//! |---|---|
//! | the decision boundary over the epochs, for a grid of learning rates, activations, widths | [`boundary_playground`] |
//! | the optimizers' loss curves at a chosen learning rate | [`optimizer_lr_playground`] |
//! | the optimizers' paths on a loss surface, up to step t | [`optimizer_path_playground`] |
//! | dropout's keep probability: training and validation loss, and the boundary | [`dropout_playground`] |

mod boundary_evolution;
mod dropout;
mod optimizers;

pub use crate::experiments::OptimizerPathsConfig;
pub use boundary_evolution::{BoundaryPlaygroundConfig, boundary_playground};
pub use dropout::{DropoutPlaygroundConfig, dropout_playground};
pub use optimizers::{OptimizerLrPlaygroundConfig, optimizer_lr_playground, optimizer_path_playground};

use crate::error::{PlotError, Result};
use crate::figure::Figure;
use ann_core::error::AnnError;
use serde_json::{Value, json};

/// The MIME type JupyterLab 4 renders with its bundled Vega-Lite 5.
pub const VEGA_LITE_MIME: &str = "application/vnd.vegalite.v5+json";

/// Largest inlined specification, in bytes of JSON: notebooks stay small on disk.
pub const MAX_SPEC_BYTES: usize = 1 << 20;

/// An interactive view of real runs (see the [module](self) docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Playground {
    title: String,
    spec: Value,
    fallback: Figure,
}

impl Playground {
    /// A playground from a Vega-Lite v5 `spec` (with its data inlined) and a `fallback`
    /// figure of its default view. Errors: a spec that is not a JSON object, larger than
    /// [`MAX_SPEC_BYTES`], that loads anything from a URL, or with a parameter named like one
    /// of Vega's own signals (`width`, `height`, ...).
    pub fn new(title: &str, spec: Value, fallback: Figure) -> Result<Self> {
        if !spec.is_object() {
            return Err(PlotError::Draw("a Vega-Lite spec must be a JSON object".into()));
        }
        if let Some(path) = find_key(&spec, "url", "") {
            return Err(PlotError::Draw(format!("the spec loads data from a URL ({path}); inline it")));
        }
        // Vega's own signals: a parameter of that name silently breaks the layout.
        const RESERVED: [&str; 6] = ["width", "height", "padding", "autosize", "background", "cursor"];
        for p in spec["params"].as_array().into_iter().flatten() {
            if let Some(name) = p["name"].as_str().filter(|n| RESERVED.contains(n)) {
                return Err(PlotError::Draw(format!(
                    "a parameter cannot be named \"{name}\" (a Vega signal)"
                )));
            }
        }
        let bytes = spec.to_string().len();
        if bytes > MAX_SPEC_BYTES {
            return Err(PlotError::Draw(format!(
                "the spec of \"{title}\" is {bytes} bytes, more than {MAX_SPEC_BYTES}: use fewer runs or frames, or a coarser grid"
            )));
        }
        Ok(Playground { title: title.to_string(), spec, fallback })
    }

    /// The title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The Vega-Lite specification.
    pub fn spec(&self) -> &Value {
        &self.spec
    }

    /// The specification as compact JSON (the same bytes for the same runs).
    pub fn spec_json(&self) -> String {
        self.spec.to_string()
    }

    /// The PNG figure of the default view.
    pub fn fallback(&self) -> &Figure {
        &self.fallback
    }

    /// Shows the playground in a Rust notebook: evcxr calls this when a cell's value is a
    /// `Playground`. Three outputs through `evcxr_runtime`: the Vega-Lite spec (JupyterLab
    /// draws it, with its controls), the PNG of the default view (for every other front end)
    /// and a line of text.
    pub fn evcxr_display(&self) {
        evcxr_runtime::mime_type(VEGA_LITE_MIME).text(self.spec_json());
        evcxr_runtime::mime_type("image/png").bytes(self.fallback.png_bytes());
        evcxr_runtime::mime_type("text/plain").text(self.to_string());
    }
}

impl std::fmt::Display for Playground {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let controls: Vec<String> = self.spec["params"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["bind"]["name"].as_str().map(|n| n.trim().to_string()))
            .collect();
        write!(f, "Playground \"{}\" (controls: {})", self.title, controls.join(", "))
    }
}

/// The path of the first object key named `key` inside `v`, if any.
fn find_key(v: &Value, key: &str, at: &str) -> Option<String> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, child)| {
            let here = format!("{at}/{k}");
            if k == key { Some(here) } else { find_key(child, key, &here) }
        }),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, c)| find_key(c, key, &format!("{at}/{i}")))
        }
        _ => None,
    }
}

/// A slider bound to the parameter `name`: min..=max by `step`, starting at `value`.
pub(crate) fn slider(name: &str, label: &str, (min, max, step): (f64, f64, f64), value: f64) -> Value {
    json!({
        "name": name,
        "value": value,
        "bind": {"input": "range", "min": min, "max": max, "step": step, "name": format!("{label} ")},
    })
}

/// A drop-down menu bound to the parameter `name`.
pub(crate) fn menu(name: &str, label: &str, options: Vec<Value>, value: Value) -> Value {
    json!({
        "name": name,
        "value": value,
        "bind": {"input": "select", "options": options, "name": format!("{label} ")},
    })
}

/// Fails unless `default`, the value a menu shows first, is one of its `options`.
pub(crate) fn check_default(what: &str, default: f64, options: &[f64]) -> Result<()> {
    if options.contains(&default) {
        Ok(())
    } else {
        Err(AnnError::EmptyInput(format!("the default {what} {default} is not one of {options:?}")).into())
    }
}

/// `v` rounded to `digits` decimals, for compact JSON (the figures keep full precision).
pub(crate) fn round(v: f64, digits: i32) -> f64 {
    let s = 10f64.powi(digits);
    (v * s).round() / s
}

/// The 64 symbols of a grid value: symbol k stands for lo + k/63 · (hi − lo). One byte per
/// grid point keeps a spec (and the notebook holding it) small; 64 levels are more than a
/// colour scale shows.
pub const LEVELS: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// `values` quantized to [`LEVELS`] over [lo, hi], one symbol each, in order.
pub(crate) fn levels(values: impl IntoIterator<Item = f64>, (lo, hi): (f64, f64)) -> String {
    let symbols = LEVELS.as_bytes();
    let span = if hi > lo { hi - lo } else { 1.0 };
    values
        .into_iter()
        .map(|v| char::from(symbols[(((v - lo) / span).clamp(0.0, 1.0) * 63.0).round() as usize]))
        .collect()
}

/// `values` rounded to `digits` decimals, joined by commas: one JSON string, where an array
/// would take a line per number in a notebook file. [`unpack`] turns it back into rows.
pub(crate) fn packed(values: impl IntoIterator<Item = f64>, digits: i32) -> String {
    values.into_iter().map(|v| round(v, digits).to_string()).collect::<Vec<_>>().join(",")
}

/// Transforms that turn each row's [`packed`] `fields` (equally long) into one row per entry.
pub(crate) fn unpack(fields: &[&str]) -> Vec<Value> {
    let mut t: Vec<Value> =
        fields.iter().map(|f| json!({"calculate": format!("split(datum.{f}, ',')"), "as": f})).collect();
    t.push(json!({"flatten": fields}));
    t.extend(fields.iter().map(|f| json!({"calculate": format!("toNumber(datum.{f})"), "as": f})));
    t
}

/// A layer drawing the grid of the one row of the data set `data` left by `filter`: its
/// field `cells` holds a [`levels`] symbol per grid point over `range`, row by row (row j at
/// ys[j], column i at xs[i]), each drawn as a rectangle centred on its point and coloured by
/// `color` (an encoding of the decoded value "v").
pub(crate) fn grid_layer(
    data: &str,
    filter: &str,
    xs: &[f64],
    ys: &[f64],
    (lo, hi): (f64, f64),
    color: Value,
) -> Value {
    let (dx, dy) = (step_of(xs), step_of(ys));
    let (x0, y0) = (xs[0] - dx / 2.0, ys[0] - dy / 2.0);
    let (x1, y1) = (x0 + xs.len() as f64 * dx, y0 + ys.len() as f64 * dy);
    let nx = xs.len();
    json!({
        "data": {"name": data},
        "transform": [
            {"filter": filter},
            {"calculate": "split(datum.cells, '')", "as": "symbols"},
            {"flatten": ["symbols"], "as": ["symbol"]},
            {"window": [{"op": "row_number", "as": "k"}]},
            {"calculate": format!("(datum.k - 1) % {nx}"), "as": "i"},
            {"calculate": format!("floor((datum.k - 1) / {nx})"), "as": "j"},
            {"calculate": format!("{x0} + datum.i * {dx}"), "as": "x"},
            // A twentieth of a cell of overlap: no hairline seams between neighbours.
            {"calculate": format!("{x0} + (datum.i + 1.05) * {dx}"), "as": "x_end"},
            {"calculate": format!("{y0} + datum.j * {dy}"), "as": "y"},
            {"calculate": format!("{y0} + (datum.j + 1.05) * {dy}"), "as": "y_end"},
            {"calculate": format!("{lo} + indexof('{LEVELS}', datum.symbol) / 63 * {}", hi - lo), "as": "v"},
        ],
        "mark": {"type": "rect", "strokeWidth": 0},
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "scale": {"domain": [x0, x1], "nice": false, "zero": false}, "axis": {"grid": false}},
            "x2": {"field": "x_end"},
            "y": {"field": "y", "type": "quantitative", "scale": {"domain": [y0, y1], "nice": false, "zero": false}, "axis": {"grid": false}},
            "y2": {"field": "y_end"},
            "color": color,
        },
    })
}

/// Grid cell size of a linspace: the distance between two neighbours (1 for one point).
pub(crate) fn step_of(xs: &[f64]) -> f64 {
    if xs.len() > 1 { (xs[xs.len() - 1] - xs[0]) / (xs.len() - 1) as f64 } else { 1.0 }
}

/// The training points of a 2-D classification set, coloured by class, as a layer.
pub(crate) fn points_layer(x: ndarray::ArrayView2<f64>, labels: &[usize]) -> Value {
    let colors: Vec<String> =
        (0..=labels.iter().copied().max().unwrap_or(0)).map(|c| hex(crate::style::class_color(c))).collect();
    let mut transform = unpack(&["x1", "x2", "class"]);
    // The class as a name, so that the legend lists classes, not a number scale.
    transform.push(json!({"calculate": "'' + datum.class", "as": "class"}));
    json!({
        "data": {"values": [{
            "x1": packed(x.row(0).iter().copied(), 3),
            "x2": packed(x.row(1).iter().copied(), 3),
            "class": packed(labels.iter().map(|&c| c as f64), 0),
        }]},
        "transform": transform,
        "mark": {"type": "circle", "size": 16, "opacity": 0.9, "stroke": "white", "strokeWidth": 0.5},
        "encoding": {
            "x": {"field": "x1", "type": "quantitative", "title": "x₁", "axis": {"grid": false}},
            "y": {"field": "x2", "type": "quantitative", "title": "x₂", "axis": {"grid": false}},
            "fill": {"field": "class", "type": "nominal", "scale": {"range": colors}, "title": "class"},
        },
    })
}

/// The class-1 probability maps' colour: the diverging scheme of the static figures' maps.
pub(crate) fn probability_color() -> Value {
    json!({"field": "v", "type": "quantitative", "scale": {"domain": [0, 1], "scheme": "redblue", "reverse": true}, "title": "P(class 1)"})
}

/// `#rrggbb` of a plotters colour.
pub(crate) fn hex(c: plotters::style::RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// A line of text in the top-left corner of a view: `label`, a Vega expression over the one
/// row of the data set `data` left by `filter`.
pub(crate) fn caption_layer(data: &str, filter: &str, label: &str) -> Value {
    json!({
        "data": {"name": data},
        "transform": [{"filter": filter}, {"calculate": label, "as": "label"}],
        "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 4, "dy": 4, "fontSize": 12},
        "encoding": {"text": {"field": "label"}, "x": {"value": 0}, "y": {"value": 0}},
    })
}
