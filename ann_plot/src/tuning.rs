//! Choosing α and λ: the learning-rate range test and a random search scored on validation.

use crate::axes::{self, Chart2d, LogAxes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend::{self, Swatch};
use crate::paths;
use crate::range;
use crate::style;
use crate::text;
use ann_core::{LrRange, Trial, best_trial};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most stages a [`search_scatter`] tells apart (one colour and marker each: coarse, fine).
pub const MAX_SEARCH_STAGES: usize = 2;

/// A [`LrRangeTest`](ann_core::LrRangeTest) run: the mini-batch loss J{t} of every step
/// (thin) and its smoothed ŝ_t (thick) against α_t on a log axis. Marked: the α of the
/// lowest ŝ (✕) and the rule-of-thumb α, a tenth of it (dashed vertical line); a test that
/// stopped early says at which α the loss diverged. The loss axis is cut at 1.5× the first
/// loss, so the useful slope is not flattened by the blow-up. An empty `title` gives a
/// default one.
///
/// Errors: no step recorded, non-finite learning rates.
pub fn lr_range_plot(range: &LrRange, title: &str) -> Result<Figure> {
    if range.losses.is_empty() || range.learning_rates.len() != range.losses.len() {
        return Err(AnnError::EmptyInput(
            "a range test with no step (or rates and losses of different lengths)".into(),
        )
        .into());
    }
    checks::check_finite(range.learning_rates.iter(), "learning rates")?;
    let title = if title.is_empty() { "The learning-rate range test".to_string() } else { title.to_string() };
    Figure::from_drawing(1000, 560, &title, &RangePlot { r: range, title: &title })
}

struct RangePlot<'a> {
    r: &'a LrRange,
    title: &'a str,
}

impl Draw for RangePlot<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (legend_area, body) = body.split_vertically(2 * 26 + 8);
        let r = self.r;
        let x: Vec<f64> = r.learning_rates.iter().map(|a| a.log10()).collect();
        let first = r.losses[0];
        let lowest = r.lowest();
        let lo = range::finite_range(r.smoothed.iter().chain(&r.losses).copied()).map_or(0.0, |(lo, _)| lo);
        let hi = (1.5 * first).max(lo + 1e-12);
        let caption = match (r.diverged(), r.learning_rates.last()) {
            (true, Some(a)) => {
                format!("{} of {} steps: the loss diverged at α = {a:.2e}", r.losses.len(), r.planned_steps)
            }
            _ => format!(
                "{} steps, α from {:.0e} to {:.0e}",
                r.losses.len(),
                r.learning_rates[0],
                r.learning_rates[r.learning_rates.len() - 1]
            ),
        };
        let x_range = x[0]..x[x.len() - 1].max(x[0] + 1e-9);
        let mut chart = axes::log_chart(
            &body,
            &LogAxes {
                caption: &caption,
                x: x_range,
                y: range::padded((lo.min(hi), hi), 0.04),
                x_desc: "learning rate α (log scale)",
                y_desc: "mini-batch loss J{t}",
                x_log: true,
                y_log: false,
            },
        )?;
        // a blown-up loss is drawn at the top edge, not off the chart
        let clip = |v: f64| if v.is_finite() { v.min(hi) } else { hi };
        let raw: Vec<(f64, f64)> = x.iter().zip(&r.losses).map(|(&a, &j)| (a, clip(j))).collect();
        let smooth: Vec<(f64, f64)> = x.iter().zip(&r.smoothed).map(|(&a, &j)| (a, clip(j))).collect();
        let light = style::blend(style::series_color(0), style::BACKGROUND, 0.55).stroke_width(1);
        chart.draw_series(paths::segments(&raw, light)).map_err(plot_error)?;
        let thick = style::series_color(0).stroke_width(3);
        chart.draw_series(paths::segments(&smooth, thick)).map_err(plot_error)?;
        let mut entries = vec![
            ("J{t} of each mini-batch".to_string(), Swatch::Line(light.stroke_width(2))),
            ("smoothed ŝ_t".to_string(), Swatch::Line(thick)),
        ];
        if let (Some((alpha, s)), Some(suggested)) = (lowest, r.suggested()) {
            paths::draw_marker(&mut chart, (alpha.log10(), s), "")?;
            entries.push((format!("lowest ŝ at α = {alpha:.2e}"), Swatch::Cross));
            let line = style::series_color(2).stroke_width(3);
            let v = suggested.log10();
            let y = range::padded((lo.min(hi), hi), 0.04);
            chart
                .draw_series(DashedLineSeries::new(vec![(v, y.start), (v, y.end)], 10, 6, line))
                .map_err(plot_error)?;
            entries.push((format!("a tenth of it: α = {suggested:.2e}"), Swatch::Dashed(line)));
        }
        legend::legend_strip(&legend_area, &entries, 2, 96)
    }
}

/// The trials of a random search ([`RandomSearch`](ann_core::RandomSearch)): validation
/// accuracy against α (left) and against λ (right), both on log axes, one colour and marker
/// per stage (`stages`: a name and its trials, the coarse search and the fine one).
/// The best trial of all is ringed. Diverged trials, which have no accuracy, are drawn as
/// small ✕ along the bottom edge, so every trial run is on the picture. An empty `title`
/// gives a default one.
///
/// Errors: no stage or no trial, more than [`MAX_SEARCH_STAGES`] stages, a trial without a
/// validation accuracy that did not diverge (no validation set, or a regression).
pub fn search_scatter(stages: &[(&str, &[Trial])], title: &str) -> Result<Figure> {
    if stages.is_empty() || stages.iter().all(|(_, t)| t.is_empty()) {
        return Err(AnnError::EmptyInput("no search trials to plot".into()).into());
    }
    if stages.len() > MAX_SEARCH_STAGES {
        return Err(AnnError::InvalidHyperparameter {
            name: "stages".into(),
            value: stages.len().to_string(),
            reason: format!("at most {MAX_SEARCH_STAGES} stages fit one figure"),
        }
        .into());
    }
    for (name, trials) in stages {
        if let Some(t) = trials.iter().find(|t| !t.diverged() && t.val_accuracy().is_none()) {
            return Err(AnnError::EmptyInput(format!(
                "stage {name}, trial {}: no validation accuracy (train each trial with a validation set)",
                t.number
            ))
            .into());
        }
        for t in trials.iter() {
            checks::check_finite([t.hyperparameters.learning_rate, t.hyperparameters.l2].iter(), "α and λ")?;
        }
    }
    let n: usize = stages.iter().map(|(_, t)| t.len()).sum();
    let title = if title.is_empty() {
        format!("Random search: {n} trials scored on the validation set")
    } else {
        title.to_string()
    };
    Figure::from_drawing(1000, 520, &title, &Scatter { stages, title: &title })
}

struct Scatter<'a> {
    stages: &'a [(&'a str, &'a [Trial])],
    title: &'a str,
}

/// A panel's horizontal axis: its description and the trial's value along it.
type Axis = (&'static str, fn(&Trial) -> f64);

/// Draws the trials of stage `i` at `points`: discs for the first, triangles for the second.
fn draw_markers<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart2d<'c, DB>,
    i: usize,
    points: &[(f64, f64)],
    color: RGBColor,
) -> Result<()> {
    let fill = color.mix(0.85).filled();
    let p = points.iter().copied();
    if i == 0 {
        chart.draw_series(p.map(|p| Circle::new(p, 6, fill))).map(|_| ())
    } else {
        chart.draw_series(p.map(|p| TriangleMarker::new(p, 8, fill))).map(|_| ())
    }
    .map_err(plot_error)
}

/// The legend swatch of stage `i`'s marker.
fn swatch(i: usize) -> Swatch {
    if i == 0 { Swatch::Dot(style::series_color(0)) } else { Swatch::Triangle(style::series_color(i)) }
}

impl Draw for Scatter<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (legend_area, body) = body.split_vertically(26 + 12);
        let panels = body.split_evenly((1, 2));
        let all: Vec<&Trial> = self.stages.iter().flat_map(|(_, t)| t.iter()).collect();
        let best = best_trial(all.iter().copied());
        let acc: Vec<f64> = all.iter().filter_map(|t| t.val_accuracy()).map(|a| 100.0 * a).collect();
        let (lo, hi) = range::finite_range(acc.iter().copied()).unwrap_or((0.0, 100.0));
        let y = range::padded((lo, hi.max(lo + 1.0)), 0.08);
        let pick: [Axis; 2] = [
            ("learning rate α (log scale)", |t| t.hyperparameters.learning_rate),
            ("L2 strength λ (log scale)", |t| t.hyperparameters.l2),
        ];
        for (panel, (desc, get)) in panels.iter().zip(pick) {
            let (xlo, xhi) = range::finite_range(all.iter().map(|t| get(t).log10())).unwrap_or((-1.0, 1.0));
            let caption = if desc.starts_with("learning") {
                "Validation accuracy against α"
            } else {
                "Validation accuracy against λ"
            };
            let mut chart = axes::log_chart(
                panel,
                &LogAxes {
                    caption,
                    x: range::padded((xlo, xhi.max(xlo + 0.5)), 0.06),
                    y: y.clone(),
                    x_desc: desc,
                    y_desc: "validation accuracy (%)",
                    x_log: true,
                    y_log: false,
                },
            )?;
            for (i, (_, trials)) in self.stages.iter().enumerate() {
                let color = style::series_color(i);
                let points: Vec<(f64, f64)> = trials
                    .iter()
                    .filter_map(|t| t.val_accuracy().map(|a| (get(t).log10(), 100.0 * a)))
                    .collect();
                draw_markers(&mut chart, i, &points, color)?;
                let diverged = trials.iter().filter(|t| t.diverged()).map(|t| (get(t).log10(), y.start));
                chart
                    .draw_series(
                        diverged.map(|p| EmptyElement::at(p) + Cross::new((0, -6), 5, color.stroke_width(2))),
                    )
                    .map_err(plot_error)?;
            }
            if let Some(t) = best {
                let at = (get(t).log10(), 100.0 * t.val_accuracy().unwrap_or(0.0));
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at(at) + Circle::new((0, 0), 12, style::INK.stroke_width(2)),
                    ))
                    .map_err(plot_error)?;
            }
        }
        let mut entries: Vec<(String, Swatch)> = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, (name, trials))| (format!("{name} ({} trials)", trials.len()), swatch(i)))
            .collect();
        if let Some(t) = best {
            entries.push((
                format!("best: {:.2} %", 100.0 * t.val_accuracy().unwrap_or(0.0)),
                Swatch::Line(style::INK.stroke_width(2)),
            ));
        }
        if all.iter().any(|t| t.diverged()) {
            entries.push(("✕ diverged".to_string(), Swatch::Cross));
        }
        legend::legend_strip(&legend_area, &entries, 4, 96)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ann_core::{History, Hyperparameters, LrRangeTest, Network, Optimizer, Task, TrainConfig};

    fn trial(number: usize, alpha: f64, l2: f64, acc: Option<f64>) -> Trial {
        let history = acc.map(|a| History {
            train_loss: vec![1.0],
            val_accuracy: vec![a],
            val_loss: vec![0.5],
            ..History::default()
        });
        Trial {
            number,
            of: 3,
            hyperparameters: Hyperparameters { learning_rate: alpha, l2 },
            history,
            seconds: 0.1,
        }
    }

    #[test]
    fn the_search_draws_every_stage_and_refuses_what_it_cannot_show() {
        let coarse =
            [trial(1, 1e-3, 0.1, Some(0.8)), trial(2, 1.0, 3.0, None), trial(3, 1e-2, 1.0, Some(0.85))];
        let fine = [trial(1, 5e-3, 0.5, Some(0.86))];
        let fig = search_scatter(&[("coarse", &coarse), ("fine", &fine)], "").unwrap();
        assert!(fig.png_bytes().len() > 1000);
        assert!(fig.title().contains("4 trials"));
        assert!(search_scatter(&[], "").is_err());
        let no_val = [Trial { history: Some(History::default()), ..trial(1, 1e-3, 0.1, None) }];
        let msg = search_scatter(&[("coarse", &no_val)], "").unwrap_err().to_string();
        assert!(msg.contains("validation"), "{msg}");
        let three: Vec<(&str, &[Trial])> = (0..3).map(|_| ("s", &coarse[..])).collect();
        assert!(search_scatter(&three, "").is_err());
    }

    #[test]
    fn the_range_test_draws_and_refuses_an_empty_run() {
        let data = ann_core::two_moons(200, 0.1, 1).unwrap();
        let y = data.targets(Task::Binary);
        let net = Network::new(&[2, 8, 1], ann_core::Activation::Relu, Task::Binary, ann_core::Init::He, 1)
            .unwrap();
        let test = LrRangeTest { min_lr: 1e-4, max_lr: 1e3, steps: 80, ..LrRangeTest::default() };
        let range =
            test.run(&net, &Optimizer::sgd(0.1).unwrap(), (&data.x, &y), &TrainConfig::default()).unwrap();
        let fig = lr_range_plot(&range, "").unwrap();
        assert!(fig.png_bytes().len() > 1000);
        let empty = LrRange { learning_rates: vec![], losses: vec![], smoothed: vec![], planned_steps: 3 };
        assert!(lr_range_plot(&empty, "").is_err());
    }
}
