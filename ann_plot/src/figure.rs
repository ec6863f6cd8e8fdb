//! [`Figure`]: a chart rendered once to PNG bytes and SVG text, shown inline by evcxr.

use crate::error::{PlotError, Result};
use crate::style;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt;
use std::path::Path;

/// Largest width or height accepted for a figure, in pixels: beyond it the RGB buffer alone
/// would take hundreds of megabytes.
pub const MAX_SIDE: u32 = 8192;

/// A drawing that can be rendered on any plotters backend.
///
/// Every figure of the crate is one `Draw` value holding precomputed data (model outputs,
/// curves); [`Figure::from_drawing`] calls [`Draw::draw`] twice, once on a bitmap and once
/// on an SVG backend, so the PNG and the SVG show the same picture. Implement it to turn
/// your own plotters code into a [`Figure`]:
///
/// ```
/// use ann_plot::plotters::coord::Shift;
/// use ann_plot::plotters::prelude::*;
/// use ann_plot::{Draw, Figure};
///
/// struct Diagonal;
/// impl Draw for Diagonal {
///     fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> ann_plot::Result<()> {
///         let mut chart = ChartBuilder::on(area)
///             .build_cartesian_2d(0.0..1.0, 0.0..1.0)
///             .map_err(ann_plot::plot_error)?;
///         chart
///             .draw_series(LineSeries::new(vec![(0.0, 0.0), (1.0, 1.0)], &BLACK))
///             .map_err(ann_plot::plot_error)?;
///         Ok(())
///     }
/// }
/// let fig = Figure::from_drawing(300, 200, "diagonal", &Diagonal).unwrap();
/// assert_eq!((fig.width(), fig.height()), (300, 200));
/// assert!(fig.png_bytes().starts_with(b"\x89PNG"));
/// ```
pub trait Draw {
    /// Draws the whole picture on `area` (already filled with the background colour).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Converts any plotters error into [`PlotError::Draw`].
pub fn plot_error<E: fmt::Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// A rendered figure: PNG bytes and SVG text of one drawing, at a fixed pixel size.
///
/// Both are produced when the figure is created, so showing or saving it never fails to
/// render. In a Rust notebook (evcxr) a cell whose value is a `Figure` displays it inline
/// (see [`Figure::evcxr_display`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Figure {
    title: String,
    width: u32,
    height: u32,
    png: Vec<u8>,
    svg: String,
}

impl Figure {
    /// Renders `drawing` to a `width` × `height` PNG and SVG. `title` is kept as the
    /// figure's name (shown as text/plain in notebooks); the drawing draws its own title.
    ///
    /// Fails with [`PlotError::Draw`] for a size of 0 or above [`MAX_SIDE`], or if drawing
    /// fails; a panic inside plotters is caught and reported as an error too.
    pub fn from_drawing<D: Draw>(width: u32, height: u32, title: &str, drawing: &D) -> Result<Figure> {
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(PlotError::Draw(format!(
                "figure size {width}x{height} px: each side must lie in 1..={MAX_SIDE}"
            )));
        }
        style::register_fonts()?;
        let render = || -> Result<(Vec<u8>, String)> {
            let mut rgb = vec![0u8; width as usize * height as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
                root.fill(&style::BACKGROUND).map_err(plot_error)?;
                drawing.draw(&root)?;
                root.present().map_err(plot_error)?;
            }
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
                root.fill(&style::BACKGROUND).map_err(plot_error)?;
                drawing.draw(&root)?;
                root.present().map_err(plot_error)?;
            }
            // plotters-svg writes embedded bitmaps as `data:png;base64,`; browsers expect a
            // full MIME type.
            let svg = svg.replace("href=\"data:png;base64,", "href=\"data:image/png;base64,");
            Ok((encode_png(&rgb, width, height)?, svg))
        };
        let (png, svg) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(render))
            .map_err(|_| PlotError::Draw(format!("drawing \"{title}\" panicked inside plotters")))??;
        Ok(Figure { title: title.to_string(), width, height, png, svg })
    }

    /// The figure's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The PNG file contents (RGB, 8 bit).
    pub fn png_bytes(&self) -> &[u8] {
        &self.png
    }

    /// The SVG document. Text stays text (font family `sans-serif`); heatmaps and
    /// probability maps are embedded as PNG images.
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// Writes the PNG to `path`.
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_file(path.as_ref(), &self.png)
    }

    /// Writes the SVG to `path`.
    pub fn save_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        write_file(path.as_ref(), self.svg.as_bytes())
    }

    /// Shows the figure inline in a Rust notebook: evcxr calls this when a cell's value is
    /// a `Figure`. It emits two MIME-typed outputs through `evcxr_runtime`: the PNG
    /// (`image/png`) and a line of text (`text/plain`).
    ///
    /// Only the PNG, not the SVG: every front end shows it the same way (JupyterLab trusted or
    /// not, GitHub, nbconvert), where a trusted JupyterLab would prefer the SVG and draw text
    /// with the browser's fonts, clipping some labels; and committed notebooks stay half the
    /// size. The SVG is for files: [`Figure::save_svg`].
    pub fn evcxr_display(&self) {
        evcxr_runtime::mime_type("image/png").bytes(&self.png);
        evcxr_runtime::mime_type("text/plain").text(self.summary());
    }

    fn summary(&self) -> String {
        format!("Figure \"{}\" ({} x {} px)", self.title, self.width, self.height)
    }
}

impl fmt::Debug for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Figure")
            .field("title", &self.title)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("png_bytes", &self.png.len())
            .field("svg_chars", &self.svg.len())
            .finish()
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Writes atomically: a failed save leaves the file that was there before.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    ann_core::persist::write_atomic(path, |file| file.write_all(bytes))
        .map_err(|e| PlotError::Draw(e.to_string()))
}

/// Encodes an RGB8 buffer as PNG (best compression, adaptive filtering: deterministic).
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        let mut writer = enc.write_header().map_err(plot_error)?;
        writer.write_image_data(rgb).map_err(plot_error)?;
        writer.finish().map_err(plot_error)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Empty;
    impl Draw for Empty {
        fn draw<DB: DrawingBackend>(&self, _area: &DrawingArea<DB, Shift>) -> Result<()> {
            Ok(())
        }
    }

    struct Panics;
    impl Draw for Panics {
        fn draw<DB: DrawingBackend>(&self, _area: &DrawingArea<DB, Shift>) -> Result<()> {
            panic!("boom")
        }
    }

    #[test]
    fn sizes_are_checked_and_panics_become_errors() {
        assert!(Figure::from_drawing(0, 10, "t", &Empty).is_err());
        assert!(Figure::from_drawing(10, MAX_SIDE + 1, "t", &Empty).is_err());
        let fig = Figure::from_drawing(12, 7, "t", &Empty).unwrap();
        assert_eq!((fig.width(), fig.height()), (12, 7));
        let err = Figure::from_drawing(10, 10, "bad", &Panics).unwrap_err();
        assert!(matches!(err, PlotError::Draw(_)), "{err}");
    }
}
