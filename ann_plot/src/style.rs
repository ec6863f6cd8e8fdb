//! The one theme every figure uses: colour-blind-safe palette (Okabe–Ito), font sizes for
//! the saved pixel size, colormaps, and the bundled DejaVu Sans font.
//!
//! Colours are assigned by role, never ad hoc: series i (train, validation, ...) and
//! class c both use [`PALETTE`] in order, so "class 1" or "validation" has the same
//! colour in every figure.

use crate::error::{PlotError, Result};
use plotters::style::{FontStyle, RGBColor, register_font};

/// Font family name the bundled DejaVu Sans is registered under. SVG output names this
/// generic family, so browsers use their own sans-serif font.
pub const FONT: &str = "sans-serif";

/// Figure title (top of the figure), in pixels.
pub const TITLE_SIZE: u32 = 28;
/// Panel captions inside a figure.
pub const PANEL_TITLE_SIZE: u32 = 22;
/// Axis descriptions ("epoch", "loss (binary cross-entropy)").
pub const AXIS_LABEL_SIZE: u32 = 20;
/// Tick labels.
pub const TICK_LABEL_SIZE: u32 = 16;
/// Legend entries.
pub const LEGEND_SIZE: u32 = 17;

/// Widest figure, in pixels: a notebook column shows about 900 px, and a wider figure is
/// shrunk until its tick labels are too small to read. Figures with several panels stack
/// or narrow them to fit.
pub const COLUMN_WIDTH: u32 = 1000;

/// Default figure size for a single chart, in pixels.
pub const DEFAULT_SIZE: (u32, u32) = (900, 600);

/// White background.
pub const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
/// Text and axis colour (near black).
pub const INK: RGBColor = RGBColor(34, 34, 34);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(222, 222, 222);
/// Neutral grey for reference lines (decision boundaries, markers).
pub const NEUTRAL: RGBColor = RGBColor(90, 90, 90);

/// The Okabe–Ito colour-blind-safe palette, reordered so the first colours contrast most:
/// blue, vermillion, bluish green, orange, reddish purple, sky blue, yellow, black.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(230, 159, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// Colour of series `i` (0 = train, 1 = validation, ...), cycling through [`PALETTE`].
pub fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Colour of class `c`, cycling through [`PALETTE`] (class 0 blue, class 1 vermillion).
pub fn class_color(c: usize) -> RGBColor {
    PALETTE[c % PALETTE.len()]
}

/// Registers the bundled DejaVu Sans (regular and bold) as [`FONT`] with plotters'
/// ab_glyph text renderer; no system font or fontconfig is used.
///
/// Every drawing entry point calls this (it is cheap): evcxr may reload crates between
/// cells, which resets plotters' font table.
pub fn register_fonts() -> Result<()> {
    let bad = |_| PlotError::Draw("the bundled DejaVu Sans font could not be parsed".into());
    register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).map_err(bad)?;
    register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).map_err(bad)?;
    Ok(())
}

/// `a` blended toward `b` by `t` ∈ [0, 1]: (1 − t) a + t b per channel.
pub fn blend(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A map from a number in [0, 1] to a colour, piecewise linear between stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colormap {
    /// Perceptually uniform dark blue → green → yellow, for non-negative values
    /// (ReLU and sigmoid activations).
    Viridis,
    /// Blue → white → vermillion, for signed values centred on 0 (tanh activations,
    /// P(y = 1) centred on ½): the end colours are classes 0 and 1.
    Diverging,
    /// White → black, for 0/1 masks.
    Greys,
}

const VIRIDIS: [RGBColor; 9] = [
    RGBColor(68, 1, 84),
    RGBColor(71, 44, 122),
    RGBColor(59, 81, 139),
    RGBColor(44, 113, 142),
    RGBColor(33, 144, 141),
    RGBColor(39, 173, 129),
    RGBColor(92, 200, 99),
    RGBColor(170, 220, 50),
    RGBColor(253, 231, 37),
];

const DIVERGING: [RGBColor; 5] = [
    RGBColor(0, 84, 140),
    RGBColor(120, 175, 214),
    RGBColor(247, 247, 247),
    RGBColor(240, 160, 110),
    RGBColor(170, 70, 0),
];

impl Colormap {
    /// The colour at `t` ∈ [0, 1] (clamped; NaN maps to 0).
    pub fn color(self, t: f64) -> RGBColor {
        let stops: &[RGBColor] = match self {
            Colormap::Viridis => &VIRIDIS,
            Colormap::Diverging => &DIVERGING,
            Colormap::Greys => &[RGBColor(255, 255, 255), RGBColor(0, 0, 0)],
        };
        let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
        let pos = t * (stops.len() - 1) as f64;
        let i = (pos.floor() as usize).min(stops.len() - 2);
        blend(stops[i], stops[i + 1], pos - i as f64)
    }

    /// The colour of `v` on the scale [`lo`, `hi`] (a degenerate scale maps to the middle).
    pub fn color_in(self, v: f64, lo: f64, hi: f64) -> RGBColor {
        let span = hi - lo;
        if span.is_finite() && span > 0.0 { self.color((v - lo) / span) } else { self.color(0.5) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colormap_ends_and_clamping() {
        assert_eq!(Colormap::Viridis.color(0.0), VIRIDIS[0]);
        assert_eq!(Colormap::Viridis.color(1.0), VIRIDIS[8]);
        assert_eq!(Colormap::Viridis.color(7.0), VIRIDIS[8]);
        assert_eq!(Colormap::Diverging.color(0.5), RGBColor(247, 247, 247));
        assert_eq!(Colormap::Greys.color(f64::NAN), RGBColor(255, 255, 255));
        assert_eq!(Colormap::Greys.color_in(3.0, 1.0, 1.0), RGBColor(128, 128, 128));
        assert_eq!(blend(RGBColor(0, 0, 0), RGBColor(200, 100, 50), 0.5), RGBColor(100, 50, 25));
    }

    #[test]
    fn fonts_register() {
        register_fonts().unwrap();
    }
}
