//! Exercise 3b, autograd: the core of a reverse-mode engine over scalars. The local backward
//! step of three operations (a·b, tanh a, aⁿ), the topological order of the nodes the output
//! depends on, and the backward walk over it, each checked against [`ann_autograd`].
//!
//! A graph reaches the learner's functions as plain numbers: node `i` of the tape has the value
//! `values[i]` and the inputs `inputs[i]` (indices of earlier nodes), and the gradients
//! ∂L/∂v_i are the entries `grads[i]` of one slice, so no type of the engine is needed.

use crate::grade::{Attempt, Grader, Mistake, Wrong, attempt, close_within, differ, run_mistakes};
use crate::report::Report;
use ann_autograd::{AutogradError, Graph, Op, Var};

/// `fn backward_mul(a, b, values, out_grad, grads)`: for the node c = a·b (inputs at indices
/// `a` and `b`), adds ∂L/∂c · ∂c/∂a to `grads[a]` and ∂L/∂c · ∂c/∂b to `grads[b]`;
/// `out_grad` is ∂L/∂c.
pub type BackwardMul = fn(usize, usize, &[f64], f64, &mut [f64]);
/// `fn backward_tanh(a, values, out, out_grad, grads)`: for the node t = tanh(a), whose value
/// is `out`, adds ∂L/∂t · ∂t/∂a to `grads[a]`.
pub type BackwardTanh = fn(usize, &[f64], f64, f64, &mut [f64]);
/// `fn backward_powi(a, n, values, out_grad, grads)`: for the node p = aⁿ, adds
/// ∂L/∂p · ∂p/∂a to `grads[a]`.
pub type BackwardPowi = fn(usize, i32, &[f64], f64, &mut [f64]);
/// `fn topological_order(out, inputs) -> the nodes out depends on, out last, each after all
/// of its inputs`; `inputs[i]` lists the inputs of node i (x·x lists x twice).
pub type TopologicalOrder = fn(usize, &[Vec<usize>]) -> Vec<usize>;
/// `fn backward_walk(out, order, n, step) -> ∂L/∂v_i for the n nodes of the tape`, L the
/// node `out`: `order` is a topological order ending at `out`, and `step(y, grads)` hands
/// node y's gradient `grads[y]` on to y's inputs (the local backward steps).
pub type BackwardWalk = fn(usize, &[usize], usize, &dyn Fn(usize, &mut [f64])) -> Vec<f64>;

/// Gradients within this distance of the engine's count as equal (relative above 1): the
/// same additions in the same order give the same numbers, up to the rounding of a
/// product written the other way round.
pub const AUTOGRAD_TOLERANCE: f64 = 1e-12;

/// One graph of the graders: the tape, its output, every node with a name, in the order made.
struct Case {
    g: Graph,
    out: Var,
    nodes: Vec<(Var, &'static str)>,
    what: &'static str,
}

impl Case {
    fn ops(&self) -> Vec<Op> {
        self.nodes.iter().map(|(v, _)| self.g.op(*v).unwrap_or(Op::Leaf)).collect()
    }

    fn values(&self) -> Vec<f64> {
        self.nodes.iter().map(|(v, _)| self.g.value(*v).unwrap_or(f64::NAN)).collect()
    }

    /// `inputs[i]`: the indices of node i's inputs, in the order of the operation.
    fn inputs(&self) -> Vec<Vec<usize>> {
        self.ops().into_iter().map(inputs_of).collect()
    }

    /// "x (v0)".
    fn label(&self, i: usize) -> String {
        match self.nodes.get(i) {
            Some((_, name)) => format!("{name} (v{i})"),
            None => format!("v{i}"),
        }
    }

    /// The output's name: "L" of "L = tanh(d)".
    fn out_name(&self) -> &'static str {
        let name = self.nodes[self.out.index()].1;
        name.split(" = ").next().unwrap_or(name)
    }

    /// ∂out/∂v_i for every node, from [`Graph::backward`].
    fn expected(&self) -> Vec<f64> {
        let mut g = self.g.clone();
        if g.backward(self.out).is_err() {
            return Vec::new();
        }
        self.nodes.iter().map(|(v, _)| g.grad(*v).unwrap_or(f64::NAN)).collect()
    }

    /// [`Graph::topological_order`], as indices.
    fn order(&self) -> Vec<usize> {
        self.g.topological_order(self.out).unwrap_or_default().into_iter().map(Var::index).collect()
    }

    /// "L = tanh(a·b + a), a = 2, b = −3: v0 a = leaf, v2 c = v0 · v1, ...".
    fn describe(&self) -> String {
        let nodes: Vec<String> = (self.ops().iter().enumerate())
            .map(|(i, op)| match op {
                Op::Leaf => format!("v{i} {}", self.nodes[i].1),
                _ => format!("v{i} = {op}"),
            })
            .collect();
        format!("{}; the tape: {}", self.what, nodes.join(", "))
    }

    /// One line per node: "∂L/∂x (v0) = 3.000000".
    fn show(&self, grads: &[f64]) -> String {
        let out = self.out_name();
        let lines: Vec<String> =
            grads.iter().enumerate().map(|(i, g)| format!("∂{out}/∂{} = {g:.6}", self.label(i))).collect();
        lines.join("\n")
    }
}

fn inputs_of(op: Op) -> Vec<usize> {
    match op {
        Op::Leaf => vec![],
        Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) => vec![a.index(), b.index()],
        Op::Powi(a, _) | Op::Exp(a) | Op::Ln(a) | Op::Tanh(a) | Op::Relu(a) | Op::Sigmoid(a) => {
            vec![a.index()]
        }
    }
}

/// The local backward step of node `y` made by `op`, as the engine takes it: for each input x,
/// grads[x] += grads[y] · ∂y/∂x.
fn reference_step(op: Op, y: usize, values: &[f64], grads: &mut [f64]) {
    let (gy, out) = (grads[y], values[y]);
    let v = |x: Var| values[x.index()];
    let local = op.local_derivatives(v, out);
    for (x, d) in local {
        grads[x.index()] += gy * d;
    }
}

/// Backward over `case` in the node order `order` (walked from its end), each node's step by
/// `step`: the gradients of every node. Indices outside the tape are skipped.
fn walk(case: &Case, order: &[usize], step: impl Fn(Op, usize, &[f64], &mut [f64])) -> Vec<f64> {
    let (ops, values) = (case.ops(), case.values());
    let mut grads = vec![0.0; ops.len()];
    grads[case.out.index()] = 1.0;
    for &y in order.iter().rev().filter(|&&y| y < ops.len()) {
        step(ops[y], y, &values, &mut grads);
    }
    grads
}

fn same_grads(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close_within(*x, *y, AUTOGRAD_TOLERANCE))
}

/// Compares a learner's gradients with the engine's, node by node: a mismatch names the first
/// node that differs; `wrong` holds the planted mistakes' gradients for the hint.
fn compare_grads(
    case: &Case,
    expected: &[f64],
    got: &[f64],
    wrong: &[(Vec<f64>, &'static str)],
) -> Result<(), Wrong> {
    if same_grads(expected, got) {
        return Ok(());
    }
    let hint = wrong
        .iter()
        .filter(|(m, _)| !same_grads(m, expected))
        .find(|(m, _)| same_grads(m, got))
        .map(|(_, h)| h.to_string());
    let problem = if expected.len() != got.len() {
        format!("{} gradients returned, expected {} (one per node on the tape)", got.len(), expected.len())
    } else {
        let i = (0..got.len()).find(|&i| !close_within(expected[i], got[i], AUTOGRAD_TOLERANCE)).unwrap_or(0);
        format!("∂{}/∂{} {}", case.out_name(), case.label(i), differ(expected[i], got[i]))
    };
    Err(Wrong { problem, hint, expected: case.show(expected), got: case.show(got) })
}

/// The learner's step for the nodes of its own operation, the engine's for the others:
/// `mine` runs `f` on a node and says whether the node was its operation.
type Mine<F> = fn(F, Op, &[f64], f64, f64, &mut [f64]) -> bool;

/// Grades a local backward step `f`: backward runs over each case in the engine's order, `f`
/// at the nodes of its operation, and every node's gradient must equal the engine's.
fn grade_local<F: Copy>(
    name: &'static str,
    f: F,
    table: &[Mistake<F>],
    cases: Vec<Case>,
    mine: Mine<F>,
) -> Report {
    let mut g = Grader::new(name, cases.len());
    for case in &cases {
        let expected = case.expected();
        let order = case.order();
        let run = |f: F| {
            walk(case, &order, |op, y, values, grads| {
                let gy = grads[y];
                if !mine(f, op, values, values[y], gy, grads) {
                    reference_step(op, y, values, grads);
                }
            })
        };
        let wrong = run_mistakes(table, run);
        let check = |got: Vec<f64>| compare_grads(case, &expected, &got, &wrong);
        if let Err(report) = g.case(|| case.describe(), attempt(|| run(f)), check) {
            return report;
        }
    }
    g.finish()
}

/// One leaf per value, in order.
fn leaves(g: &mut Graph, values: &[f64]) -> Vec<Var> {
    values.iter().map(|&v| g.leaf(v)).collect()
}

/// c = a·b, a = 2, b = −3.
fn product() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let [a, b] = leaves(&mut g, &[2.0, -3.0])[..] else { unreachable!("two leaves") };
    let c = g.mul(a, b)?;
    Ok(Case {
        g, out: c, nodes: vec![(a, "a"), (b, "b"), (c, "c = a·b")], what: "c = a·b, a = 2, b = −3"
    })
}

/// L = tanh(a·b + a), a = 2, b = −3 (chapter 03c, section 1): a is used twice.
fn chapter_graph() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let [a, b] = leaves(&mut g, &[2.0, -3.0])[..] else { unreachable!("two leaves") };
    let c = g.mul(a, b)?;
    let d = g.add(c, a)?;
    let l = g.tanh(d)?;
    Ok(Case {
        g,
        out: l,
        nodes: vec![(a, "a"), (b, "b"), (c, "c = a·b"), (d, "d = c + a"), (l, "L = tanh(d)")],
        what: "L = tanh(a·b + a), a = 2, b = −3",
    })
}

/// y = x·x, x = 1.5: one node, both inputs.
fn square() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let x = g.leaf(1.5);
    let y = g.mul(x, x)?;
    Ok(Case { g, out: y, nodes: vec![(x, "x"), (y, "y = x·x")], what: "y = x·x, x = 1.5" })
}

/// The diamond of chapter 03c: p = 2a feeds q = p² and r = eᵖ, y = q + r, a = 0.5.
fn diamond() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let [a, two] = leaves(&mut g, &[0.5, 2.0])[..] else { unreachable!("two leaves") };
    let p = g.mul(two, a)?;
    let q = g.powi(p, 2)?;
    let r = g.exp(p)?;
    let y = g.add(q, r)?;
    Ok(Case {
        g,
        out: y,
        nodes: vec![(a, "a"), (two, "two"), (p, "p = two·a"), (q, "q = p²"), (r, "r = eᵖ"), (y, "y = q + r")],
        what: "the diamond y = (2a)² + e^(2a), a = 0.5",
    })
}

/// A neuron with two inputs and a squared error: L = (tanh(w1·x1 + w2·x2 + b) − t)².
fn neuron() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let [x1, x2, w1, w2, b, t] = leaves(&mut g, &[0.5, -1.5, 0.8, -0.4, 0.1, 0.6])[..] else {
        unreachable!("six leaves")
    };
    let p1 = g.mul(w1, x1)?;
    let p2 = g.mul(w2, x2)?;
    let s = g.add(p1, p2)?;
    let z = g.add(s, b)?;
    let a = g.tanh(z)?;
    let e = g.sub(a, t)?;
    let l = g.powi(e, 2)?;
    Ok(Case {
        g,
        out: l,
        nodes: vec![
            (x1, "x1"),
            (x2, "x2"),
            (w1, "w1"),
            (w2, "w2"),
            (b, "b"),
            (t, "t"),
            (p1, "w1·x1"),
            (p2, "w2·x2"),
            (s, "s = w1·x1 + w2·x2"),
            (z, "z = s + b"),
            (a, "a = tanh(z)"),
            (e, "e = a − t"),
            (l, "L = e²"),
        ],
        what: "a neuron L = (tanh(w1·x1 + w2·x2 + b) − t)², x = (0.5, −1.5), w = (0.8, −0.4), b = 0.1, t = 0.6",
    })
}

/// y = tanh(x)·x, x = 0.8: x gets a share from the product before tanh hands on its own.
fn tanh_times_x() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let x = g.leaf(0.8);
    let t = g.tanh(x)?;
    let y = g.mul(t, x)?;
    Ok(Case {
        g,
        out: y,
        nodes: vec![(x, "x"), (t, "t = tanh(x)"), (y, "y = t·x")],
        what: "y = tanh(x)·x, x = 0.8",
    })
}

/// t = tanh(a), a = 0.5.
fn tanh_alone() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let a = g.leaf(0.5);
    let t = g.tanh(a)?;
    Ok(Case { g, out: t, nodes: vec![(a, "a"), (t, "t = tanh(a)")], what: "t = tanh(a), a = 0.5" })
}

/// y = a³, a = 1.5.
fn cube() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let a = g.leaf(1.5);
    let y = g.powi(a, 3)?;
    Ok(Case { g, out: y, nodes: vec![(a, "a"), (y, "y = a³")], what: "y = a³, a = 1.5" })
}

/// y = (x³)², x = 0.7: the inner power gets ∂y/∂p = 2p, not 1.
fn nested_powers() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let x = g.leaf(0.7);
    let p = g.powi(x, 3)?;
    let y = g.powi(p, 2)?;
    Ok(Case {
        g, out: y, nodes: vec![(x, "x"), (p, "p = x³"), (y, "y = p²")], what: "y = (x³)², x = 0.7"
    })
}

/// y = tanh(x⁻¹), x = 2: a negative exponent.
fn reciprocal() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let x = g.leaf(2.0);
    let r = g.powi(x, -1)?;
    let y = g.tanh(r)?;
    Ok(Case {
        g,
        out: y,
        nodes: vec![(x, "x"), (r, "r = x⁻¹"), (y, "y = tanh(r)")],
        what: "y = tanh(x⁻¹), x = 2",
    })
}

/// A tape with a node the output does not depend on: u = eᵃ, then y = a·b + b.
fn dead_branch() -> Result<Case, AutogradError> {
    let mut g = Graph::new();
    let [a, b] = leaves(&mut g, &[1.5, -0.5])[..] else { unreachable!("two leaves") };
    let u = g.exp(a)?;
    let c = g.mul(a, b)?;
    let y = g.add(c, b)?;
    Ok(Case {
        g,
        out: y,
        nodes: vec![(a, "a"), (b, "b"), (u, "u = eᵃ"), (c, "c = a·b"), (y, "y = c + b")],
        what: "y = a·b + b, a = 1.5, b = −0.5, on a tape that also holds u = eᵃ",
    })
}

/// The graphs of a grader; they are all valid, so building them cannot fail.
fn build(cases: &[fn() -> Result<Case, AutogradError>]) -> Vec<Case> {
    cases.iter().filter_map(|c| c().ok()).collect()
}

const MUL_ACCUMULATE: &str = "A node used twice must receive both shares of its gradient: add to grads[a] and \
    grads[b], never overwrite them. With `=` the later share replaces the earlier one and one share is lost: in x·x \
    both shares go to x, and x's gradient comes out half as large (in a·b + a, a loses the sum's share). | grads[a] += out_grad · \
    values[b]; grads[b] += out_grad · values[a]: for x·x both land on x, 2·x·out_grad.";
const NO_OUT_GRAD: &str = "The chain rule multiplies the local derivative by the gradient that arrives at the node, \
    out_grad = ∂L/∂(node); it is 1 only at the output. | ∂L/∂x += ∂L/∂y · ∂y/∂x for every input x of the node y.";

/// [`backward_mul`]'s planted mistakes.
const BACKWARD_MUL: &[Mistake<BackwardMul>] = &[
    Mistake {
        name: "= instead of +=",
        hint: MUL_ACCUMULATE,
        wrong: |a, b, values, out_grad, grads| {
            grads[a] = out_grad * values[b];
            grads[b] = out_grad * values[a];
        },
    },
    Mistake {
        name: "inputs swapped",
        hint: "Each input's local derivative is the other input: moving a changes a·b by b per unit. | \
               ∂(a·b)/∂a = b, ∂(a·b)/∂b = a: grads[a] += out_grad · values[b].",
        wrong: |a, b, values, out_grad, grads| {
            grads[a] += out_grad * values[a];
            grads[b] += out_grad * values[b];
        },
    },
    Mistake {
        name: "no out_grad",
        hint: NO_OUT_GRAD,
        wrong: |a, b, values, _, grads| {
            grads[a] += values[b];
            grads[b] += values[a];
        },
    },
];

/// Checks the local backward step of c = a·b: ∂L/∂a += ∂L/∂c · b, ∂L/∂b += ∂L/∂c · a, with
/// `+=` so that x·x gives 2x. Backward runs over c = a·b, y = x·x, L = tanh(a·b + a) and a
/// neuron with your step at every product, and every node's gradient is compared with
/// [`Graph::backward`] within [`AUTOGRAD_TOLERANCE`].
pub fn backward_mul(f: BackwardMul) -> Report {
    let cases = build(&[product, square, chapter_graph, neuron]);
    grade_local("backward_mul", f, BACKWARD_MUL, cases, |f, op, values, _, out_grad, grads| match op {
        Op::Mul(a, b) => {
            f(a.index(), b.index(), values, out_grad, grads);
            true
        }
        _ => false,
    })
}

const TANH_ACCUMULATE: &str = "A node used twice must receive both shares of its gradient: add to grads[a], never \
    overwrite it. In tanh(x)·x, x gets a share from the product first; with `=`, tanh's share replaces it, and \
    x's gradient comes out too small. | grads[a] += out_grad · (1 − out²).";

/// [`backward_tanh`]'s planted mistakes.
const BACKWARD_TANH: &[Mistake<BackwardTanh>] = &[
    Mistake {
        name: "the input's value",
        hint: "tanh′ = 1 − tanh²: the square of the node's output t = tanh(a), not of its input a. | \
               ∂tanh(a)/∂a = 1 − t², with t = out.",
        wrong: |a, values, _, out_grad, grads| grads[a] += out_grad * (1.0 - values[a] * values[a]),
    },
    Mistake {
        name: "no out_grad",
        hint: NO_OUT_GRAD,
        wrong: |a, _, out, _, grads| grads[a] += 1.0 - out * out,
    },
    Mistake {
        name: "= instead of +=",
        hint: TANH_ACCUMULATE,
        wrong: |a, _, out, out_grad, grads| grads[a] = out_grad * (1.0 - out * out),
    },
];

/// Checks the local backward step of t = tanh(a): ∂L/∂a += ∂L/∂t · (1 − t²). Backward runs
/// over tanh(a), L = tanh(a·b + a), tanh(x)·x and a neuron with your step at every tanh, and
/// every node's gradient is compared with [`Graph::backward`].
pub fn backward_tanh(f: BackwardTanh) -> Report {
    let cases = build(&[tanh_alone, chapter_graph, tanh_times_x, neuron]);
    grade_local("backward_tanh", f, BACKWARD_TANH, cases, |f, op, values, out, out_grad, grads| match op {
        Op::Tanh(a) => {
            f(a.index(), values, out, out_grad, grads);
            true
        }
        _ => false,
    })
}

const POWI_ACCUMULATE: &str = "A node used twice must receive both shares of its gradient: add to grads[a], never \
    overwrite it. In the diamond, p feeds q = p² and r = eᵖ; with `=`, q's share replaces r's, and the gradients \
    of p and below come out too small. | grads[a] += out_grad · n · aⁿ⁻¹.";

/// [`backward_powi`]'s planted mistakes.
const BACKWARD_POWI: &[Mistake<BackwardPowi>] = &[
    Mistake {
        name: "exponent not lowered",
        hint: "The power rule lowers the exponent by one. | ∂aⁿ/∂a = n · aⁿ⁻¹, not n · aⁿ.",
        wrong: |a, n, values, out_grad, grads| grads[a] += out_grad * f64::from(n) * values[a].powi(n),
    },
    Mistake {
        name: "no factor n",
        hint: "The power rule brings the exponent down as a factor. | ∂aⁿ/∂a = n · aⁿ⁻¹, not aⁿ⁻¹.",
        wrong: |a, n, values, out_grad, grads| grads[a] += out_grad * values[a].powi(n - 1),
    },
    Mistake {
        name: "no out_grad",
        hint: NO_OUT_GRAD,
        wrong: |a, n, values, _, grads| grads[a] += f64::from(n) * values[a].powi(n - 1),
    },
    Mistake {
        name: "= instead of +=",
        hint: POWI_ACCUMULATE,
        wrong: |a, n, values, out_grad, grads| grads[a] = out_grad * f64::from(n) * values[a].powi(n - 1),
    },
];

/// Checks the local backward step of p = aⁿ: ∂L/∂a += ∂L/∂p · n aⁿ⁻¹. Backward runs over a³,
/// chapter 03c's diamond, (x³)², tanh(x⁻¹) and a neuron's squared error with your step at every
/// power, and every node's gradient is compared with [`Graph::backward`].
pub fn backward_powi(f: BackwardPowi) -> Report {
    let cases = build(&[cube, diamond, nested_powers, reciprocal, neuron]);
    grade_local("backward_powi", f, BACKWARD_POWI, cases, |f, op, values, _, out_grad, grads| match op {
        Op::Powi(a, n) => {
            f(a.index(), n, values, out_grad, grads);
            true
        }
        _ => false,
    })
}

const TWICE: &str = "A node is listed more than once: in a diamond or in x·x the walk reaches a node along two \
    paths. Listed twice, it hands on its gradient twice, and the gradients below it are counted twice (in the \
    diamond, p hands on twice). | Keep a \
    visited set: mark a node when the walk first reaches it and skip it afterwards, so that each node is listed once.";
const MISSING: &str = "A node the output depends on is missing: its share of the gradient never reaches its inputs. \
    | Visit every input of a node (both of a·b) before listing the node.";
const EXTRA: &str = "The order lists a node the output does not depend on: a tape holds other expressions too, and \
    backward has nothing to do there. | Start the walk at out and follow only inputs: visit(v) = visit every input \
    of v, then list v.";
const REVERSED: &str = "The order is reversed: out must come last, each node after all of its inputs; it is backward \
    that walks the list from the end. | Post-order: list a node after visiting its inputs, and return the list as \
    built.";
const BEFORE_INPUT: &str = "A node comes before one of its inputs: listed when the walk first reaches it (pre-order), \
    a node can precede an input it shares with another node, and backward then hands on that input's gradient \
    before it is complete. | Post-order: visit every input of v first, then list v.";

/// What is wrong with `got` as the topological order of `case`, and the hint; None if it is
/// one (any order of the nodes out depends on, each once, each after its inputs).
fn order_problem(case: &Case, got: &[usize]) -> Option<(String, Option<&'static str>)> {
    let inputs = case.inputs();
    let n = inputs.len();
    if let Some(i) = got.iter().find(|&&i| i >= n) {
        return Some((format!("{i} is not a node: the tape has {n}, numbered 0 to {}", n - 1), None));
    }
    let mut count = vec![0usize; n];
    got.iter().for_each(|&i| count[i] += 1);
    let needed = case.order();
    let twice: Vec<String> =
        (0..n).filter(|&i| count[i] > 1).map(|i| format!("{} {} times", case.label(i), count[i])).collect();
    if !twice.is_empty() {
        return Some((format!("nodes listed more than once: {}", twice.join(", ")), Some(TWICE)));
    }
    if let Some(&i) = needed.iter().find(|&&i| count[i] == 0) {
        return Some((
            format!("{} is missing, and {} depends on it", case.label(i), case.out_name()),
            Some(MISSING),
        ));
    }
    if let Some(&i) = got.iter().find(|&&i| !needed.contains(&i)) {
        return Some((
            format!("{} is listed, but {} does not depend on it", case.label(i), case.out_name()),
            Some(EXTRA),
        ));
    }
    // Each node once, the right ones: the order is wrong if a node precedes one of its inputs.
    let before_input = |order: &[usize]| {
        let mut position = vec![0; n];
        order.iter().enumerate().for_each(|(k, &i)| position[i] = k);
        order.iter().find_map(|&v| inputs[v].iter().find(|&&x| position[x] > position[v]).map(|&x| (v, x)))
    };
    let (v, x) = before_input(got)?;
    let reversed: Vec<usize> = got.iter().rev().copied().collect();
    let hint = if before_input(&reversed).is_none() { REVERSED } else { BEFORE_INPUT };
    Some((format!("{} comes before its input {}", case.label(v), case.label(x)), Some(hint)))
}

/// "[v0, v1, v2]", then the leaves' gradients backward gives when it walks this order.
fn show_order(case: &Case, order: &[usize]) -> String {
    let grads = walk(case, order, reference_step);
    let listed: Vec<String> = order.iter().map(|i| format!("v{i}")).collect();
    let leaves: Vec<String> = case
        .ops()
        .iter()
        .enumerate()
        .filter(|(i, op)| **op == Op::Leaf && case.order().contains(i))
        .map(|(i, _)| format!("∂{}/∂{} = {:.6}", case.out_name(), case.label(i), grads[i]))
        .collect();
    format!("[{}]\nbackward in this order gives {}", listed.join(", "), leaves.join(", "))
}

/// Checks a topological order of the nodes `out` depends on (each once, out last, each node
/// after all of its inputs) on chapter 03c's diamond and its L = tanh(a·b + a), x·x, a tape with
/// a node out does not use, and a neuron. Any such order passes; a wrong one is reported with
/// the gradients backward gives when it walks it.
pub fn topological_order(f: TopologicalOrder) -> Report {
    let cases = build(&[diamond, chapter_graph, square, dead_branch, neuron]);
    let mut g = Grader::new("topological_order", cases.len());
    for case in &cases {
        let inputs = case.inputs();
        let check = |got: Vec<usize>| match order_problem(case, &got) {
            None => Ok(()),
            Some((problem, hint)) => Err(Wrong {
                problem,
                hint: hint.map(str::to_string),
                expected: format!("an order such as {}", show_order(case, &case.order())),
                got: show_order(case, &got),
            }),
        };
        let result = attempt(|| f(case.out.index(), &inputs));
        if let Err(report) = g.case(|| case.describe(), result, check) {
            return report;
        }
    }
    g.finish()
}

/// [`backward_walk`]'s planted mistakes.
const BACKWARD_WALK: &[Mistake<BackwardWalk>] = &[
    Mistake {
        name: "walked in post-order",
        hint: "The walk follows the order from its start: a node hands on its gradient before the nodes that use it \
               have added their shares, so it hands on 0, or only part. Backward starts at out and ends at the \
               leaves. | for y in order.iter().rev(): each node after every node that uses it.",
        wrong: |out, order, n, step| {
            let mut grads = vec![0.0; n];
            grads[out] = 1.0;
            order.iter().for_each(|&y| step(y, &mut grads));
            grads
        },
    },
    Mistake {
        name: "no seed",
        hint: "Nothing starts the walk: every gradient is a product that begins with ∂L/∂L, and that is 1, not 0. | \
               grads[out] = 1 before the walk, every other entry 0.",
        wrong: |_, order, n, step| {
            let mut grads = vec![0.0; n];
            order.iter().rev().for_each(|&y| step(y, &mut grads));
            grads
        },
    },
];

/// Checks the backward walk: ∂L/∂L = 1, then every node y in reverse topological order hands
/// on its gradient (`step(y, grads)`, the engine's local steps here), on the graphs of
/// [`topological_order`], against [`Graph::backward`].
pub fn backward_walk(f: BackwardWalk) -> Report {
    let cases = build(&[chapter_graph, diamond, square, dead_branch, neuron]);
    let mut g = Grader::new("backward_walk", cases.len());
    for case in &cases {
        let (expected, order, ops, values) = (case.expected(), case.order(), case.ops(), case.values());
        let step = |y: usize, grads: &mut [f64]| reference_step(ops[y], y, &values, grads);
        let run = |f: BackwardWalk| f(case.out.index(), &order, ops.len(), &step);
        let wrong = run_mistakes(BACKWARD_WALK, run);
        let check = |got: Vec<f64>| compare_grads(case, &expected, &got, &wrong);
        let result = match attempt(|| run(f)) {
            // An index out of the tape in the learner's walk: say which slice.
            Attempt::Panicked(m) if m.contains("index out of bounds") => {
                Attempt::Panicked(format!("{m} (grads has one entry per node: n = {})", ops.len()))
            }
            other => other,
        };
        if let Err(report) = g.case(|| case.describe(), result, check) {
            return report;
        }
    }
    g.finish()
}

/// Runs `f`, a cell's own use of the learner's functions (a backward pass put together from
/// them), catching a `todo!()` or a panic: the gradients it returns, or what went wrong as a
/// line of text.
pub fn gradients_caught(f: impl FnOnce() -> Vec<f64>) -> Result<Vec<f64>, String> {
    match attempt(f) {
        Attempt::Done(grads) => Ok(grads),
        Attempt::NotImplemented => Err(format!(
            "{} not implemented yet: one of your functions still has its todo!()",
            crate::report::TODO
        )),
        Attempt::Panicked(m) => Err(format!("{} it panicked: {m}", crate::report::FAILED)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Outcome;
    use crate::grade::tests::check_table;

    fn mul_ok(a: usize, b: usize, values: &[f64], out_grad: f64, grads: &mut [f64]) {
        grads[a] += out_grad * values[b];
        grads[b] += out_grad * values[a];
    }
    fn tanh_ok(a: usize, _: &[f64], out: f64, out_grad: f64, grads: &mut [f64]) {
        grads[a] += out_grad * (1.0 - out * out);
    }
    fn powi_ok(a: usize, n: i32, values: &[f64], out_grad: f64, grads: &mut [f64]) {
        grads[a] += out_grad * f64::from(n) * values[a].powi(n - 1);
    }
    fn walk_ok(out: usize, order: &[usize], n: usize, step: &dyn Fn(usize, &mut [f64])) -> Vec<f64> {
        let mut grads = vec![0.0; n];
        grads[out] = 1.0;
        for &y in order.iter().rev() {
            step(y, &mut grads);
        }
        grads
    }

    /// [`topological_order`]'s planted mistakes. The grader tells them by the form of the order
    /// (a node twice, one missing, one too many, a node before its input), which any
    /// implementation with the same fault shares; the tests check that each gets its hint.
    const TOPOLOGICAL_ORDER: &[Mistake<TopologicalOrder>] = &[
        Mistake {
            name: "reversed",
            hint: REVERSED,
            wrong: |out, inputs| {
                let mut order = post_order(out, inputs, true, true);
                order.reverse();
                order
            },
        },
        Mistake {
            name: "no visited set",
            hint: TWICE,
            wrong: |out, inputs| post_order(out, inputs, false, true),
        },
        Mistake {
            name: "first input only",
            hint: MISSING,
            wrong: |out, inputs| {
                let first: Vec<Vec<usize>> =
                    inputs.iter().map(|x| x.iter().take(1).copied().collect()).collect();
                post_order(out, &first, true, true)
            },
        },
        Mistake {
            name: "pre-order",
            hint: BEFORE_INPUT,
            wrong: |out, inputs| post_order(out, inputs, true, false),
        },
        Mistake { name: "the whole tape", hint: EXTRA, wrong: |out, _| (0..=out).collect() },
    ];

    /// A depth-first walk from `out`: with or without a visited set, listing each node after its
    /// inputs (post-order) or when first reached (pre-order).
    fn post_order(out: usize, inputs: &[Vec<usize>], visited: bool, post: bool) -> Vec<usize> {
        fn visit(
            v: usize,
            inputs: &[Vec<usize>],
            seen: &mut Option<Vec<bool>>,
            post: bool,
            order: &mut Vec<usize>,
        ) {
            if let Some(seen) = seen.as_mut() {
                if seen[v] {
                    return;
                }
                seen[v] = true;
            }
            if !post {
                order.push(v);
            }
            for &x in &inputs[v] {
                visit(x, inputs, seen, post, order);
            }
            if post {
                order.push(v);
            }
        }
        let mut seen = visited.then(|| vec![false; inputs.len()]);
        let mut order = Vec::new();
        visit(out, inputs, &mut seen, post, &mut order);
        order
    }

    /// This file's graders, each with a reference implementation and its planted mistakes.
    pub(crate) fn tables() -> Vec<String> {
        [
            check_table(backward_mul, BACKWARD_MUL, mul_ok),
            check_table(backward_tanh, BACKWARD_TANH, tanh_ok),
            check_table(backward_powi, BACKWARD_POWI, powi_ok),
            check_table(topological_order, TOPOLOGICAL_ORDER, |out, inputs| {
                post_order(out, inputs, true, true)
            }),
            check_table(backward_walk, BACKWARD_WALK, walk_ok),
        ]
        .concat()
    }

    #[test]
    fn the_reference_steps_reproduce_the_engine_on_every_graph() {
        let all = build(&[
            product,
            chapter_graph,
            square,
            diamond,
            neuron,
            tanh_times_x,
            tanh_alone,
            cube,
            nested_powers,
            reciprocal,
            dead_branch,
        ]);
        assert_eq!(all.len(), 11);
        for case in &all {
            let got = walk(case, &case.order(), reference_step);
            assert!(same_grads(&case.expected(), &got), "{}: {got:?}", case.what);
            assert!(case.expected().iter().any(|g| *g != 0.0 && *g != 1.0), "{}", case.what);
        }
    }

    #[test]
    fn a_missing_accumulation_names_the_node_and_both_values() {
        let r = backward_mul(BACKWARD_MUL[0].wrong);
        let text = r.to_string();
        // Passes c = a·b; then on x·x, x gets x·out_grad = 1.5, not 3.
        assert!(
            text.contains("case 2") && text.contains("∂y/∂x (v0) is 1.500000, expected 3.000000"),
            "{text}"
        );
        assert!(text.contains("half as large") && !text.contains("In detail"), "{text}");
        assert!(r.clone().more().to_string().contains("In detail: grads[a] += out_grad"), "{text}");
        // In L = tanh(a·b + a), a loses the sum's share.
        let case = chapter_graph().unwrap();
        let got = walk(&case, &case.order(), |op, y, values, grads| match op {
            Op::Mul(a, b) => (BACKWARD_MUL[0].wrong)(a.index(), b.index(), values, grads[y], grads),
            _ => reference_step(op, y, values, grads),
        });
        let w = compare_grads(&case, &case.expected(), &got, &[]).unwrap_err();
        assert_eq!(w.problem, "∂L/∂a (v0) is -0.004023, expected -0.002682 (difference -1.3e-3)");
    }

    #[test]
    fn a_wrong_order_shows_the_gradient_backward_gets_from_it() {
        // Without a visited set the diamond lists p twice, and a's gradient counts eᵖ twice.
        let text = topological_order(TOPOLOGICAL_ORDER[1].wrong).to_string();
        assert!(text.contains("case 1") && text.contains("p = two·a (v2) 2 times"), "{text}");
        // At p = 1, ∂y/∂a = 2·(2p + eᵖ) = 4 + 2e; walked twice, p hands on eᵖ's share twice: 4 + 4e.
        let e = 1f64.exp();
        assert!(text.contains(&format!("∂y/∂a (v0) = {:.6}", 4.0 + 2.0 * e)), "{text}");
        assert!(text.contains(&format!("∂y/∂a (v0) = {:.6}", 4.0 + 4.0 * e)), "{text}");
        // Reversed: backward walks the post-order, and a gets nothing.
        let text = topological_order(TOPOLOGICAL_ORDER[0].wrong).to_string();
        assert!(text.contains("y = q + r (v5) comes before its input q = p² (v3)"), "{text}");
        assert!(text.contains("gives ∂y/∂a (v0) = 0.000000"), "{text}");
    }

    #[test]
    fn any_topological_order_passes_not_only_the_engine_s() {
        // Inputs visited last to first: another valid order.
        let r = topological_order(|out, inputs| {
            let reversed: Vec<Vec<usize>> =
                inputs.iter().map(|x| x.iter().rev().copied().collect()).collect();
            post_order(out, &reversed, true, true)
        });
        assert!(r.is_passed() && r.total == 5, "{r}");
    }

    #[test]
    fn todo_is_not_implemented_and_a_panic_is_caught() {
        assert_eq!(backward_tanh(|_, _, _, _, _| todo!()).outcome, Outcome::NotImplemented);
        assert_eq!(topological_order(|_, _| todo!()).outcome, Outcome::NotImplemented);
        let r = backward_walk(|_, _, n, _| {
            let grads = vec![0.0; n];
            vec![grads[n]]
        });
        assert!(
            matches!(&r.outcome, Outcome::Panicked { case: 1, message } if message.contains("n = 5")),
            "{r}"
        );
        assert!(gradients_caught(|| todo!()).unwrap_err().contains("not implemented yet"));
        assert_eq!(gradients_caught(|| vec![1.0]), Ok(vec![1.0]));
        let r = topological_order(|out, _| vec![out + 7]);
        assert!(r.to_string().contains("is not a node: the tape has 6"), "{r}");
    }
}
