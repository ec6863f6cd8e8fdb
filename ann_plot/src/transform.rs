//! Layers as feature transformers: a [2, 3, 2, ...] network moves the data from the input
//! plane into 3-D (layer 1) and back into a plane (layer 2), where a line separates the
//! classes.

use crate::axes::{self, Axes};
use crate::checks;
use crate::decision_boundary::ClassMap;
use crate::error::{AnnError, PlotError, Result};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend;
use crate::points;
use crate::range;
use crate::style;
use crate::text;
use ann_core::Network;
use ndarray::ArrayView2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Three panels from one eval-mode pass `net.forward(x)` (values read from its
/// [`Cache`](ann_core::Cache)):
///
/// 1. the input X in the plane, over the network's decision regions;
/// 2. A[1] = g(W[1] X + b[1]) ∈ ℝ³, a 3-D scatter;
/// 3. A[2] = g(W[2] A[1] + b[2]) ∈ ℝ², over the decision regions of the remaining layers
///    3..L evaluated on that plane. When layer 3 is the output, its boundary in this plane
///    is a straight line: the hidden layers have made the classes linearly separable.
///
/// Points are coloured by their true class `labels[j]`. `net` must have layer sizes
/// [2, 3, 2, ...] and a sigmoid or softmax output. An empty `title` gives a default one.
///
/// Errors: other layer sizes, X not (2, m), empty or non-finite X, wrong number of labels.
pub fn feature_transformer(
    net: &Network,
    x: ArrayView2<f64>,
    labels: &[usize],
    title: &str,
) -> Result<Figure> {
    checks::check_points(x, labels, "feature_transformer")?;
    let sizes = net.sizes();
    if sizes.len() < 3 || sizes[..3] != [2, 3, 2] {
        return Err(AnnError::InvalidArchitecture(format!(
            "feature_transformer needs layer sizes [2, 3, 2, ...] (2-D input, 3 then 2 units), got {sizes:?}"
        ))
        .into());
    }
    checks::check_classifier(net, "feature_transformer")?;
    let cache = net.forward(x)?;
    let (a1, a2) = match (cache.a(1), cache.a(2)) {
        (Some(a1), Some(a2)) => (a1.to_owned(), a2.to_owned()),
        _ => return Err(PlotError::Draw("the forward cache lacks A[1] or A[2]".into())),
    };
    checks::check_finite(a1.iter().chain(a2.iter()), "hidden activations A[1], A[2]")?;
    let axis = |v: ArrayView2<f64>, r: usize| range::axis_range(v.row(r).iter().copied(), 0.08);
    let input_map = ClassMap::new(axis(x, 0), axis(x, 1), |p| Ok(net.predict_proba(p)?))?;
    let plane_map = if net.num_layers() >= 3 {
        // Layers 3..=L as a network of their own (the output layer, hence the loss, is
        // unchanged): its eval-mode forward pass maps the plane of A[2] to Ŷ.
        let rest = Network::from_layers(net.layers()[2..].to_vec(), net.loss())?;
        Some(ClassMap::new(axis(a2.view(), 0), axis(a2.view(), 1), |p| Ok(rest.predict_proba(p)?))?)
    } else {
        None
    };
    let hidden = [net.layers()[0].activation.name(), net.layers()[1].activation.name()];
    let title = if title.is_empty() {
        "Hidden layers as feature transformers: ℝ² → ℝ³ → ℝ²".to_string()
    } else {
        title.to_string()
    };
    let drawing = Transform { title: &title, hidden, x: x.to_owned(), a1, a2, labels, input_map, plane_map };
    Figure::from_drawing(style::COLUMN_WIDTH, 500, &title, &drawing)
}

struct Transform<'a> {
    title: &'a str,
    hidden: [&'static str; 2],
    x: ndarray::Array2<f64>,
    a1: ndarray::Array2<f64>,
    a2: ndarray::Array2<f64>,
    labels: &'a [usize],
    input_map: ClassMap,
    plane_map: Option<ClassMap>,
}

impl Transform<'_> {
    fn plane<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        caption: &str,
        pts: ArrayView2<f64>,
        map: Option<&ClassMap>,
        desc: (&str, &str),
        legend: bool,
    ) -> Result<()> {
        let axis = |r: usize| range::axis_range(pts.row(r).iter().copied(), 0.08);
        let mut axes = Axes::new(caption, axis(0), axis(1), desc.0, desc.1);
        axes.y_label_area = 72;
        let mut chart = axes::chart2d(area, &axes)?;
        if let Some(map) = map {
            map.draw(&mut chart)?;
        }
        let (xs, ys) = (pts.row(0).to_vec(), pts.row(1).to_vec());
        points::class_points(&mut chart, &xs, &ys, self.labels, 4, legend)?;
        if legend {
            legend::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        axes::frame(&mut chart)
    }

    fn cube<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let r = |k: usize| {
            let (lo, hi) = range::finite_range(self.a1.row(k).iter().copied()).unwrap_or((0.0, 1.0));
            range::padded((lo, hi), 0.05)
        };
        let (rx, ry, rz) = (r(0), r(2), r(1));
        let caption = format!("layer 1: A[1] ∈ ℝ³ ({})", self.hidden[0]);
        let mut chart = ChartBuilder::on(area)
            .caption(caption, text::text(style::PANEL_TITLE_SIZE))
            .margin(20)
            .margin_left(44)
            .build_cartesian_3d(rx.clone(), ry.clone(), rz.clone())
            .map_err(plot_error)?;
        chart.with_projection(|mut pb| {
            pb.yaw = 0.75;
            pb.pitch = 0.35;
            pb.scale = 0.82;
            pb.into_matrix()
        });
        let fmt = |v: &f64| axes::tick(*v);
        // Unit 2's tick nearest the front corner would sit on unit 1's last tick: leave it out.
        let z_end = rz.end - 0.12 * (rz.end - rz.start);
        let z_fmt = move |v: &f64| if *v > z_end { String::new() } else { axes::tick(*v) };
        chart
            .configure_axes()
            .light_grid_style(style::GRID.mix(0.6))
            .bold_grid_style(style::GRID)
            .axis_panel_style(style::GRID.mix(0.25))
            .max_light_lines(1)
            .label_style(text::text(style::TICK_LABEL_SIZE - 2))
            .x_labels(5)
            .y_labels(5)
            .z_labels(5)
            .x_formatter(&fmt)
            .y_formatter(&fmt)
            .z_formatter(&z_fmt)
            .draw()
            .map_err(plot_error)?;
        // Unit k of A[1] on plotters' axes: unit 1 → x, unit 2 → z (depth), unit 3 → y (up).
        let mut pts: Vec<(f64, f64, f64, usize)> = (0..self.a1.ncols())
            .map(|j| (self.a1[[0, j]], self.a1[[2, j]], self.a1[[1, j]], self.labels[j]))
            .collect();
        // Far points first, so nearer ones are drawn on top.
        let coord = chart.as_coord_spec();
        let mut keyed: Vec<(i32, usize)> =
            pts.iter().enumerate().map(|(i, p)| (coord.projected_depth(&p.0, &p.1, &p.2), i)).collect();
        keyed.sort();
        pts = keyed.into_iter().rev().map(|(_, i)| pts[i]).collect();
        chart
            .draw_series(pts.iter().map(|&(x, y, z, c)| {
                EmptyElement::at((x, y, z))
                    + Circle::new((0, 0), 5, style::BACKGROUND.filled())
                    + Circle::new((0, 0), 4, style::class_color(c).filled())
            }))
            .map_err(plot_error)?;
        // Axis names beside the middle of the edge carrying each axis's tick labels (for
        // this projection: unit 1 along the front-left edge, unit 2 along the front-right
        // edge, unit 3 up the left edge), pushed outwards in screen space past the labels.
        let mid = |r: &std::ops::Range<f64>| (r.start + r.end) / 2.0;
        let spec = chart.as_coord_spec();
        let centre = spec.translate(&(mid(&rx), mid(&ry), mid(&rz)));
        let base = area.get_base_pixel();
        let label = text::text(style::AXIS_LABEL_SIZE).pos(Pos::new(HPos::Center, VPos::Center));
        let edges = [
            ("unit 1", (mid(&rx), ry.start, rz.end)),
            ("unit 2", (rx.end, ry.start, mid(&rz))),
            ("unit 3", (rx.start, mid(&ry), rz.end)),
        ];
        for (name, p) in edges {
            let (ex, ey) = spec.translate(&p);
            let (dx, dy) = (f64::from(ex - centre.0), f64::from(ey - centre.1));
            let len = dx.hypot(dy).max(1.0);
            let (tx, ty) = (f64::from(ex) + 44.0 * dx / len, f64::from(ey) + 44.0 * dy / len);
            area.draw_text(name, &label, (tx as i32 - base.0, ty as i32 - base.1)).map_err(plot_error)?;
        }
        Ok(())
    }
}

impl Draw for Transform<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        // The class legend goes above the panels, not over the points.
        let classes: std::collections::BTreeSet<usize> = self.labels.iter().copied().collect();
        let entries: Vec<(String, legend::Swatch)> = classes
            .into_iter()
            .map(|c| (format!("class {c}"), legend::Swatch::Dot(style::class_color(c))))
            .collect();
        let (key, body) = body.split_vertically(legend::legend_height(&body, &entries, 8, 80) + 2);
        legend::legend_strip(&key, &entries, 8, 80)?;
        let (w, _) = body.dim_in_pixel();
        let (first, rest) = body.split_horizontally(w * 31 / 100);
        let (middle, last) = rest.split_horizontally(w * 38 / 100);
        let panels = [first, middle, last];
        self.plane(&panels[0], "input: X ∈ ℝ²", self.x.view(), Some(&self.input_map), ("x₁", "x₂"), false)?;
        self.cube(&panels[1])?;
        let caption = format!("layer 2: A[2] ∈ ℝ² ({})", self.hidden[1]);
        self.plane(
            &panels[2],
            &caption,
            self.a2.view(),
            self.plane_map.as_ref(),
            ("unit 1 of A[2]", "unit 2 of A[2]"),
            false,
        )
    }
}
