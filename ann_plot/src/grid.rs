//! A function of the input plane sampled on a grid in one batch: read back by bilinear
//! interpolation, and traced along its zero level (marching squares).

use crate::contour;
use crate::error::{PlotError, Result};
use ndarray::{Array2, ArrayView2};
use std::ops::Range;

/// The points of the grid `xs` × `ys` as one batch (2, nx·ny) in course layout: column
/// j·nx + i is the point (xs[i], ys[j]).
pub(crate) fn plane_batch(xs: &[f64], ys: &[f64]) -> Array2<f64> {
    let nx = xs.len();
    Array2::from_shape_fn((2, nx * ys.len()), |(r, c)| if r == 0 { xs[c % nx] } else { ys[c / nx] })
}

/// Values of a function of the input plane sampled on an nx × ny grid over
/// `x` × `y`: `values[[k, j * nx + i]]` is output k at grid point (i, j); read back
/// with bilinear interpolation.
pub(crate) struct Grid {
    x: Range<f64>,
    y: Range<f64>,
    nx: usize,
    ny: usize,
    values: Array2<f64>,
}

impl Grid {
    /// Evaluates `f` on the grid points, passed as one (2, nx·ny) batch in course layout;
    /// `f` returns (k, nx·ny).
    pub(crate) fn eval(
        x: Range<f64>,
        y: Range<f64>,
        n: usize,
        f: impl FnOnce(ArrayView2<f64>) -> Result<Array2<f64>>,
    ) -> Result<Grid> {
        let (nx, ny) = (n.max(2), n.max(2));
        let xs: Vec<f64> =
            (0..nx).map(|i| x.start + (x.end - x.start) * i as f64 / (nx - 1) as f64).collect();
        let ys: Vec<f64> =
            (0..ny).map(|j| y.start + (y.end - y.start) * j as f64 / (ny - 1) as f64).collect();
        let values = f(plane_batch(&xs, &ys).view())?;
        if values.ncols() != nx * ny {
            return Err(PlotError::Draw(format!(
                "grid function returned {} columns, expected {}",
                values.ncols(),
                nx * ny
            )));
        }
        Ok(Grid { x, y, nx, ny, values })
    }

    /// Number of outputs k.
    pub(crate) fn outputs(&self) -> usize {
        self.values.nrows()
    }

    /// All sampled values of output k.
    pub(crate) fn row(&self, k: usize) -> ndarray::ArrayView1<'_, f64> {
        self.values.row(k)
    }

    /// The x range covered.
    pub(crate) fn x_range(&self) -> Range<f64> {
        self.x.clone()
    }

    /// The y range covered.
    pub(crate) fn y_range(&self) -> Range<f64> {
        self.y.clone()
    }

    /// Output k at grid node n = j·nx + i.
    pub(crate) fn node(&self, k: usize, n: usize) -> f64 {
        self.values[[k, n]]
    }

    /// Marching squares: the curves where `f(node)` crosses 0, as polylines in data
    /// coordinates (segments of neighbouring cells joined, so a boundary is a few long
    /// lines, not thousands of pieces).
    pub(crate) fn contour(&self, f: impl Fn(usize) -> f64) -> Vec<Vec<(f64, f64)>> {
        let (nx, ny) = (self.nx, self.ny);
        let vals: Vec<f64> = (0..nx * ny).map(f).collect();
        // A crossing is identified by its grid edge, so that the two cells sharing it join
        // there: (vertical?, i, j) is the edge from node (i, j) to (i + 1, j) (horizontal)
        // or to (i, j + 1) (vertical).
        type Edge = (bool, usize, usize);
        let point = |(vertical, i, j): Edge| -> Option<(f64, f64)> {
            let (i2, j2) = if vertical { (i, j + 1) } else { (i + 1, j) };
            let t = contour::zero_crossing(vals[j * nx + i], vals[j2 * nx + i2])?;
            let gx = i as f64 + t * (i2 as f64 - i as f64);
            let gy = j as f64 + t * (j2 as f64 - j as f64);
            Some((
                self.x.start + (self.x.end - self.x.start) * gx / (nx - 1) as f64,
                self.y.start + (self.y.end - self.y.start) * gy / (ny - 1) as f64,
            ))
        };
        let segments = contour::cell_segments(nx, ny, |a, b| {
            let edge = (a.0 == b.0, a.0.min(b.0), a.1.min(b.1));
            point(edge).map(|_| edge)
        });
        contour::polylines(&segments)
            .into_iter()
            .map(|line| line.into_iter().filter_map(point).collect())
            .collect()
    }

    /// Output k at (x, y), bilinear between grid points (clamped at the edges).
    pub(crate) fn at(&self, k: usize, x: f64, y: f64) -> f64 {
        let fx = ((x - self.x.start) / (self.x.end - self.x.start) * (self.nx - 1) as f64)
            .clamp(0.0, (self.nx - 1) as f64);
        let fy = ((y - self.y.start) / (self.y.end - self.y.start) * (self.ny - 1) as f64)
            .clamp(0.0, (self.ny - 1) as f64);
        let (i, j) = ((fx as usize).min(self.nx - 2), (fy as usize).min(self.ny - 2));
        let (tx, ty) = (fx - i as f64, fy - j as f64);
        let v = |i: usize, j: usize| self.values[[k, j * self.nx + i]];
        let top = v(i, j) * (1.0 - tx) + v(i + 1, j) * tx;
        let bottom = v(i, j + 1) * (1.0 - tx) + v(i + 1, j + 1) * tx;
        top * (1.0 - ty) + bottom * ty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contour_of_a_circle_is_one_closed_line() {
        let g = Grid::eval(-1.0..1.0, -1.0..1.0, 41, |p| {
            Ok(Array2::from_shape_fn((1, p.ncols()), |(_, c)| p[[0, c]].powi(2) + p[[1, c]].powi(2)))
        })
        .unwrap();
        let lines = g.contour(|n| g.node(0, n) - 0.25);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert!(line.len() > 40);
        assert_eq!(line.first(), line.last());
        assert!(line.iter().all(|(x, y)| (x.hypot(*y) - 0.5).abs() < 0.01));
        assert!(g.contour(|_| 1.0).is_empty());
    }

    #[test]
    fn grid_interpolates_linear_functions_exactly() {
        let g = Grid::eval(0.0..1.0, -1.0..1.0, 11, |p| {
            Ok(Array2::from_shape_fn((1, p.ncols()), |(_, c)| 2.0 * p[[0, c]] + p[[1, c]]))
        })
        .unwrap();
        assert!((g.at(0, 0.33, 0.4) - (0.66 + 0.4)).abs() < 1e-12);
        assert!((g.at(0, 5.0, 5.0) - 3.0).abs() < 1e-12);
    }
}
