//! A computation graph of [`ann_autograd`]: every node an expression depends on, as a box with
//! its value and its gradient, and an arrow from each input to the node that uses it.

use crate::error::{PlotError, Result};
use crate::figure::{Draw, Figure, plot_error};
use crate::style;
use crate::text;
use ann_autograd::{Graph, Op, Var};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most nodes drawn: a bigger graph would not be readable in one figure.
pub const MAX_GRAPH_NODES: usize = 40;

const BOX_W: i32 = 170;
const BOX_H: i32 = 62;
const COL_GAP: i32 = 70;
const ROW_GAP: i32 = 22;
/// Lanes for the arrows that skip columns, above the boxes.
const LANE_GAP: i32 = 8;
const LANE_TOP: i32 = 10 + LANES * LANE_GAP;
const LANES: i32 = 6;

/// The nodes `out` depends on, left to right by depth (a leaf has depth 0, a node one more
/// than its deepest input), each a box with its name (from `names`, else its operation), its
/// value and its gradient ∂out/∂node as [`Graph::grad`] holds it (run [`Graph::backward`]
/// first to see them filled in). Arrows run from each input to the node that uses it; a node
/// used twice has two arrows leaving it. An empty `title` gives a default one.
///
/// Errors: `out` or a named node from another graph, or more than [`MAX_GRAPH_NODES`] nodes.
pub fn computation_graph(graph: &Graph, out: Var, names: &[(Var, &str)], title: &str) -> Result<Figure> {
    let order = graph.topological_order(out).map_err(|e| PlotError::Draw(e.to_string()))?;
    for (v, _) in names {
        graph.value(*v).map_err(|e| PlotError::Draw(e.to_string()))?;
    }
    if order.len() > MAX_GRAPH_NODES {
        return Err(PlotError::Draw(format!(
            "the expression has {} nodes; at most {MAX_GRAPH_NODES} are drawn",
            order.len()
        )));
    }
    let mut nodes: Vec<Shown> = Vec::with_capacity(order.len());
    for &v in &order {
        let op = graph.op(v).map_err(|e| PlotError::Draw(e.to_string()))?;
        let inputs = inputs_of(op);
        let depth = inputs
            .iter()
            .filter_map(|x| nodes.iter().find(|n| n.var == *x).map(|n| n.depth + 1))
            .max()
            .unwrap_or(0);
        let name = names.iter().find(|(n, _)| *n == v).map_or_else(|| symbol(op), |(_, s)| s.to_string());
        let value = graph.value(v).map_err(|e| PlotError::Draw(e.to_string()))?;
        let grad = graph.grad(v).map_err(|e| PlotError::Draw(e.to_string()))?;
        nodes.push(Shown { var: v, inputs, depth, row: 0, name, value, grad });
    }
    let columns = nodes.iter().map(|n| n.depth).max().unwrap_or(0) + 1;
    let mut per_column = vec![0; columns];
    for n in &mut nodes {
        n.row = per_column[n.depth];
        per_column[n.depth] += 1;
    }
    let rows = per_column.iter().copied().max().unwrap_or(1) as i32;
    let width = (columns as i32 * (BOX_W + COL_GAP) + 40).max(420) as u32;
    let height = (rows * (BOX_H + ROW_GAP) + 60 + LANE_TOP) as u32;
    let title = if title.is_empty() {
        format!("Computation graph: {} nodes", nodes.len())
    } else {
        title.to_string()
    };
    Figure::from_drawing(width, height, &title, &Drawing { nodes, per_column, rows, title: &title })
}

struct Shown {
    var: Var,
    inputs: Vec<Var>,
    depth: usize,
    row: usize,
    name: String,
    value: f64,
    grad: f64,
}

fn inputs_of(op: Op) -> Vec<Var> {
    match op {
        Op::Leaf => vec![],
        Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) => vec![a, b],
        Op::Powi(a, _) | Op::Exp(a) | Op::Ln(a) | Op::Tanh(a) | Op::Relu(a) | Op::Sigmoid(a) => vec![a],
    }
}

fn symbol(op: Op) -> String {
    match op {
        Op::Leaf => "leaf".into(),
        Op::Add(..) => "+".into(),
        Op::Sub(..) => "−".into(),
        Op::Mul(..) => "×".into(),
        Op::Div(..) => "÷".into(),
        Op::Powi(_, n) => format!("^{n}"),
        Op::Exp(_) => "exp".into(),
        Op::Ln(_) => "ln".into(),
        Op::Tanh(_) => "tanh".into(),
        Op::Relu(_) => "ReLU".into(),
        Op::Sigmoid(_) => "σ".into(),
    }
}

struct Drawing<'a> {
    nodes: Vec<Shown>,
    per_column: Vec<usize>,
    rows: i32,
    title: &'a str,
}

impl Drawing<'_> {
    /// Top-left corner of a node's box: columns left to right, each column centred vertically.
    fn corner(&self, n: &Shown) -> (i32, i32) {
        let x = 20 + n.depth as i32 * (BOX_W + COL_GAP);
        let offset = (self.rows - self.per_column[n.depth] as i32) * (BOX_H + ROW_GAP) / 2;
        (x, LANE_TOP + 14 + offset + n.row as i32 * (BOX_H + ROW_GAP))
    }
}

impl Draw for Drawing<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let ink = style::INK;
        // Arrows first, boxes over them.
        let mut lane = 0;
        for n in &self.nodes {
            let (x, y) = self.corner(n);
            for (k, input) in n.inputs.iter().enumerate() {
                let Some(from) = self.nodes.iter().find(|m| m.var == *input) else { continue };
                let (fx, fy) = self.corner(from);
                // inputs arrive one above the other, in their order (a before b in a − b)
                let arrive = y + BOX_H * (k as i32 + 1) / (n.inputs.len() as i32 + 1);
                let start = (fx + BOX_W, fy + BOX_H / 2);
                // An arrow that skips columns runs in a lane above the boxes and enters its
                // node from the top, so it never passes behind a box or crosses the arrows
                // that come from the column before; each such arrow has its own lane.
                let (path, head) = if n.depth > from.depth + 1 {
                    lane += 1;
                    let top = LANE_TOP - lane.min(LANES) * LANE_GAP;
                    let end = (x + BOX_W - 12 * lane.min(LANES), y);
                    let path = vec![start, (start.0 + COL_GAP / 3, top), (end.0, top), end];
                    (path, vec![(end.0 - 5, end.1 - 9), end, (end.0 + 5, end.1 - 9)])
                } else {
                    let end = (x, arrive);
                    (vec![start, end], vec![(end.0 - 9, end.1 - 5), end, (end.0 - 9, end.1 + 5)])
                };
                body.draw(&PathElement::new(path, style::NEUTRAL.stroke_width(2))).map_err(plot_error)?;
                body.draw(&Polygon::new(head, style::NEUTRAL.filled())).map_err(plot_error)?;
            }
        }
        for n in &self.nodes {
            let (x, y) = self.corner(n);
            let fill = if n.inputs.is_empty() {
                style::blend(style::series_color(0), style::BACKGROUND, 0.85)
            } else {
                style::BACKGROUND
            };
            body.draw(&Rectangle::new([(x, y), (x + BOX_W, y + BOX_H)], fill.filled()))
                .map_err(plot_error)?;
            body.draw(&Rectangle::new([(x, y), (x + BOX_W, y + BOX_H)], ink.stroke_width(2)))
                .map_err(plot_error)?;
            body.draw(&Text::new(n.name.clone(), (x + 8, y + 5), text::bold(style::LEGEND_SIZE)))
                .map_err(plot_error)?;
            let grad_color = style::series_color(1);
            body.draw(&Text::new(format!("value {}", short(n.value)), (x + 8, y + 25), text::text(15)))
                .map_err(plot_error)?;
            body.draw(&Text::new(
                format!("grad {}", short(n.grad)),
                (x + 8, y + 43),
                text::text(15).color(&grad_color),
            ))
            .map_err(plot_error)?;
        }
        Ok(())
    }
}

/// 4 significant digits, as the boxes have room for.
fn short(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e6 {
        format!("{v}")
    } else if v != 0.0 && (v.abs() >= 1e4 || v.abs() < 1e-3) {
        format!("{v:.2e}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_expression_draws_with_values_and_gradients() {
        let mut g = Graph::new();
        let (a, b) = (g.leaf(2.0), g.leaf(-3.0));
        let c = g.mul(a, b).unwrap();
        let d = g.add(c, a).unwrap();
        let e = g.tanh(d).unwrap();
        g.backward(e).unwrap();
        let fig = computation_graph(&g, e, &[(a, "a"), (b, "b"), (e, "L = tanh(a·b + a)")], "").unwrap();
        assert_eq!(fig.title(), "Computation graph: 5 nodes");
        if let Ok(path) = std::env::var("ANN_GRAPH_PNG") {
            fig.save_png(path).unwrap();
        }
        for text in ["a", "×", "+", "value -3", "grad 1"] {
            assert!(fig.svg().contains(text), "missing {text:?}");
        }
    }

    #[test]
    fn foreign_nodes_and_huge_graphs_are_errors() {
        let mut g = Graph::new();
        let mut other = Graph::new();
        let a = g.leaf(1.0);
        let x = other.leaf(1.0);
        assert!(computation_graph(&g, x, &[], "").is_err());
        assert!(computation_graph(&g, a, &[(x, "x")], "").is_err());
        let mut s = a;
        for _ in 0..MAX_GRAPH_NODES {
            s = g.add(s, a).unwrap();
        }
        let err = computation_graph(&g, s, &[], "").unwrap_err().to_string();
        assert!(err.contains("at most"), "{err}");
    }
}
