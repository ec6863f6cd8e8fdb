//! Reverse-mode automatic differentiation over scalars.
//!
//! A [`Graph`] is a tape: every operation appends a node holding its value, its gradient and
//! the operation that made it from earlier nodes. [`Graph::backward`] walks the nodes that
//! reach the output in reverse topological order and applies the chain rule at each,
//!
//! ∂L/∂x += ∂L/∂y · ∂y/∂x   for every input x of every node y,
//!
//! so a node's gradient is complete (every node that uses it has added its share) before it
//! is passed on. Gradients *accumulate* (`+=`): a node used twice receives both shares, and a
//! second `backward` adds to the first unless [`Graph::zero_grad`] resets them.
//!
//! Nodes refer to their inputs by index into the tape, never by pointer: no `Rc`, no cycles,
//! and the tape order is the order of creation.
//!
//! ```
//! use ann_autograd::Graph;
//! # fn main() -> Result<(), ann_autograd::AutogradError> {
//! let mut g = Graph::new();
//! let (a, b) = (g.leaf(2.0), g.leaf(-3.0));
//! let c = g.mul(a, b)?; // c = a·b = −6
//! let d = g.add(c, a)?; // d = a·b + a: a is used twice
//! g.backward(d)?;
//! assert_eq!((g.grad(a)?, g.grad(b)?), (-3.0 + 1.0, 2.0)); // ∂d/∂a = b + 1, ∂d/∂b = a
//! # Ok(()) }
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

/// A node of one [`Graph`]: its index on the tape, and which graph it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Var {
    index: usize,
    graph: u32,
}

impl Var {
    /// Position on the tape: nodes are numbered in the order they were made.
    pub fn index(self) -> usize {
        self.index
    }
}

impl std::fmt::Display for Var {
    /// `v3` for the node at index 3.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}", self.index)
    }
}

impl std::fmt::Display for Op {
    /// The operation with its inputs, e.g. `v0 · v1`, `tanh(v3)`, `leaf`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Op::Leaf => write!(f, "leaf"),
            Op::Add(a, b) => write!(f, "{a} + {b}"),
            Op::Sub(a, b) => write!(f, "{a} − {b}"),
            Op::Mul(a, b) => write!(f, "{a} · {b}"),
            Op::Div(a, b) => write!(f, "{a} / {b}"),
            Op::Powi(a, n) => write!(f, "{a}^{n}"),
            Op::Exp(a) => write!(f, "exp({a})"),
            Op::Ln(a) => write!(f, "ln({a})"),
            Op::Tanh(a) => write!(f, "tanh({a})"),
            Op::Relu(a) => write!(f, "relu({a})"),
            Op::Sigmoid(a) => write!(f, "σ({a})"),
        }
    }
}

/// What made a node, and from which inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// An input or a parameter: no inputs.
    Leaf,
    /// a + b
    Add(Var, Var),
    /// a − b
    Sub(Var, Var),
    /// a · b
    Mul(Var, Var),
    /// a / b
    Div(Var, Var),
    /// aⁿ
    Powi(Var, i32),
    /// eᵃ
    Exp(Var),
    /// ln a
    Ln(Var),
    /// tanh a
    Tanh(Var),
    /// max(a, 0)
    Relu(Var),
    /// σ(a) = 1 / (1 + e⁻ᵃ)
    Sigmoid(Var),
}

impl Op {
    /// The inputs of the node, each with ∂(node)/∂(input), given the inputs' values `v` and
    /// the node's own value `out`: the local derivatives the chain rule multiplies.
    pub fn local_derivatives(self, v: impl Fn(Var) -> f64, out: f64) -> Vec<(Var, f64)> {
        match self {
            Op::Leaf => vec![],
            Op::Add(a, b) => vec![(a, 1.0), (b, 1.0)],
            Op::Sub(a, b) => vec![(a, 1.0), (b, -1.0)],
            Op::Mul(a, b) => vec![(a, v(b)), (b, v(a))],
            Op::Div(a, b) => vec![(a, 1.0 / v(b)), (b, -v(a) / (v(b) * v(b)))],
            Op::Powi(a, n) => vec![(a, f64::from(n) * v(a).powi(n - 1))],
            Op::Exp(a) => vec![(a, out)],              // (eᵃ)′ = eᵃ
            Op::Ln(a) => vec![(a, 1.0 / v(a))],        // (ln a)′ = 1/a
            Op::Tanh(a) => vec![(a, 1.0 - out * out)], // tanh′ = 1 − tanh²
            Op::Relu(a) => vec![(a, f64::from(u8::from(v(a) > 0.0)))], // 0 at a = 0
            Op::Sigmoid(a) => vec![(a, out * (1.0 - out))], // σ′ = σ (1 − σ)
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    value: f64,
    grad: f64,
    op: Op,
}

/// A node of another graph was given to this one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "node {index} belongs to graph {its_graph}, not to this graph ({this_graph}): build each expression in one graph"
)]
pub struct AutogradError {
    /// The node's index.
    pub index: usize,
    /// The graph that made it.
    pub its_graph: u32,
    /// The graph it was given to.
    pub this_graph: u32,
}

type Result<T> = std::result::Result<T, AutogradError>;

static NEXT_GRAPH: AtomicU32 = AtomicU32::new(0);

/// The tape of nodes.
#[derive(Debug, Clone)]
pub struct Graph {
    nodes: Vec<Node>,
    id: u32,
}

impl Default for Graph {
    fn default() -> Self {
        Self::new()
    }
}

impl Graph {
    /// An empty tape.
    pub fn new() -> Self {
        Graph { nodes: Vec::new(), id: NEXT_GRAPH.fetch_add(1, Ordering::Relaxed) }
    }

    /// Nodes on the tape.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the tape has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A new input or parameter with value `value` (gradient 0).
    pub fn leaf(&mut self, value: f64) -> Var {
        self.push(value, Op::Leaf)
    }

    fn push(&mut self, value: f64, op: Op) -> Var {
        self.nodes.push(Node { value, grad: 0.0, op });
        Var { index: self.nodes.len() - 1, graph: self.id }
    }

    fn check(&self, v: Var) -> Result<&Node> {
        match self.nodes.get(v.index) {
            Some(node) if v.graph == self.id => Ok(node),
            _ => Err(AutogradError { index: v.index, its_graph: v.graph, this_graph: self.id }),
        }
    }

    /// The node's value.
    pub fn value(&self, v: Var) -> Result<f64> {
        Ok(self.check(v)?.value)
    }

    /// ∂L/∂v, of the output L of the last [`Graph::backward`] (summed over every backward
    /// since the last [`Graph::zero_grad`]).
    pub fn grad(&self, v: Var) -> Result<f64> {
        Ok(self.check(v)?.grad)
    }

    /// What made the node.
    pub fn op(&self, v: Var) -> Result<Op> {
        Ok(self.check(v)?.op)
    }

    fn unary(&mut self, a: Var, f: fn(f64) -> f64, op: Op) -> Result<Var> {
        let x = self.value(a)?;
        Ok(self.push(f(x), op))
    }

    fn binary(&mut self, a: Var, b: Var, f: fn(f64, f64) -> f64, op: Op) -> Result<Var> {
        let (x, y) = (self.value(a)?, self.value(b)?);
        Ok(self.push(f(x, y), op))
    }

    /// a + b
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(a, b, |x, y| x + y, Op::Add(a, b))
    }

    /// a − b
    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(a, b, |x, y| x - y, Op::Sub(a, b))
    }

    /// a · b
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(a, b, |x, y| x * y, Op::Mul(a, b))
    }

    /// a / b
    pub fn div(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(a, b, |x, y| x / y, Op::Div(a, b))
    }

    /// aⁿ
    pub fn powi(&mut self, a: Var, n: i32) -> Result<Var> {
        let x = self.value(a)?;
        Ok(self.push(x.powi(n), Op::Powi(a, n)))
    }

    /// eᵃ
    pub fn exp(&mut self, a: Var) -> Result<Var> {
        self.unary(a, f64::exp, Op::Exp(a))
    }

    /// ln a (NaN for a < 0, −∞ at 0, as f64's ln)
    pub fn ln(&mut self, a: Var) -> Result<Var> {
        self.unary(a, f64::ln, Op::Ln(a))
    }

    /// tanh a
    pub fn tanh(&mut self, a: Var) -> Result<Var> {
        self.unary(a, f64::tanh, Op::Tanh(a))
    }

    /// max(a, 0)
    pub fn relu(&mut self, a: Var) -> Result<Var> {
        self.unary(a, |x| x.max(0.0), Op::Relu(a))
    }

    /// σ(a) = 1 / (1 + e⁻ᵃ), in the form that cannot overflow
    pub fn sigmoid(&mut self, a: Var) -> Result<Var> {
        let s = |x: f64| if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) };
        self.unary(a, s, Op::Sigmoid(a))
    }

    /// The nodes `out` depends on, itself last, each after all of its inputs: a depth-first
    /// walk that lists a node once all its inputs are listed (post-order). Reversed, it is the
    /// order of backpropagation: every node comes before its inputs.
    pub fn topological_order(&self, out: Var) -> Result<Vec<Var>> {
        self.check(out)?;
        let mut visited = vec![false; self.nodes.len()];
        let mut order = Vec::new();
        // An explicit stack instead of recursion: deep graphs do not overflow the call stack.
        // (node, whether its inputs have been pushed already)
        let mut stack = vec![(out, false)];
        while let Some((v, expanded)) = stack.pop() {
            if expanded {
                order.push(v);
                continue;
            }
            if visited[v.index] {
                continue;
            }
            visited[v.index] = true;
            stack.push((v, true));
            let inputs = self.nodes[v.index].op.local_derivatives(|_| 0.0, 0.0);
            for (input, _) in inputs.into_iter().rev() {
                if !visited[input.index] {
                    stack.push((input, false));
                }
            }
        }
        Ok(order)
    }

    /// Backpropagation from `out`: ∂out/∂out = 1, then for every node y in reverse
    /// topological order and every input x of y, ∂out/∂x += ∂out/∂y · ∂y/∂x. This pass's
    /// gradients are then *added* to the stored ones, as frameworks do: call it twice and every
    /// gradient is doubled, unless [`Graph::zero_grad`] runs in between.
    pub fn backward(&mut self, out: Var) -> Result<()> {
        let order = self.topological_order(out)?;
        let mut g = vec![0.0; self.nodes.len()];
        g[out.index] = 1.0;
        for y in order.iter().rev() {
            let node = &self.nodes[y.index];
            for (x, local) in node.op.local_derivatives(|v| self.nodes[v.index].value, node.value) {
                g[x.index] += g[y.index] * local; // += : a node used twice gets both shares
            }
        }
        for v in order {
            self.nodes[v.index].grad += g[v.index];
        }
        Ok(())
    }

    /// Every gradient back to 0, before the next backward of a training step.
    pub fn zero_grad(&mut self) {
        self.nodes.iter_mut().for_each(|n| n.grad = 0.0);
    }

    /// Sets a leaf's value (a parameter after an update step). The nodes computed from it
    /// keep their old values: build the expression again for the new ones.
    pub fn set_value(&mut self, v: Var, value: f64) -> Result<()> {
        self.check(v)?;
        self.nodes[v.index].value = value;
        Ok(())
    }
}
