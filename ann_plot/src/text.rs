//! Theme text: the font styles of every label, and the figure title above the panels.

use crate::error::Result;
use crate::figure::plot_error;
use crate::style;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Theme text of `size` px in the ink colour.
pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (style::FONT, f64::from(size)).into_font().color(&style::INK)
}

/// Bold theme text.
pub(crate) fn bold(size: u32) -> TextStyle<'static> {
    (style::FONT, f64::from(size), FontStyle::Bold).into_font().color(&style::INK)
}

/// Draws the figure title at the top of `area`; returns the area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>> {
    // A long title shrinks (down to the tick-label size) rather than run off the edges.
    let (w, _) = area.dim_in_pixel();
    let mut size = style::TITLE_SIZE;
    while size > style::TICK_LABEL_SIZE
        && area.estimate_text_size(title, &bold(size)).map_or(0, |(tw, _)| tw) + 20 > w
    {
        size -= 1;
    }
    area.margin(10, 0, 0, 0).titled(title, bold(size)).map_err(plot_error)
}
