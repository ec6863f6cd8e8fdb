//! Figures 7–15 (gradient flow, optimizer paths, learning-rate sweeps, ...): add one
//! `Entry` per figure to `entries()`, with its generator function in this file (or in
//! more files under `examples/figures/`, declared here with `mod name;`).
//!
//! ```ignore
//! pub fn entries() -> Vec<Entry> {
//!     vec![Entry { name: "07_gradient_flow", svg: true, make: fig_gradient_flow }]
//! }
//!
//! fn fig_gradient_flow() -> Result<Figure> {
//!     let data = ann_core::experiments::gradient_flow(/* fixed seed */)?;
//!     super::timed(|| ann_core::plot::gradient_flow(&data))
//! }
//! ```

use super::Entry;

/// Figures appended after the core ones (issue items 7–15).
pub fn entries() -> Vec<Entry> {
    Vec::new()
}
