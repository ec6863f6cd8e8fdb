//! The engine against central differences, its order and accumulation rules, and a small
//! network against ann_core's closed-form backward.

use ann_autograd::{Graph, Op, Var};
use ann_core::{Activation, Init, Network, Task};
use ndarray::array;

type Unary = fn(&mut Graph, Var) -> Result<Var, ann_autograd::AutogradError>;
type Binary = fn(&mut Graph, Var, Var) -> Result<Var, ann_autograd::AutogradError>;

/// (f(x + h) − f(x − h)) / 2h of a one-input expression built by `f`.
fn central(f: impl Fn(&mut Graph, Var) -> Var, x: f64) -> f64 {
    let h = 1e-6;
    let at = |x: f64| {
        let mut g = Graph::new();
        let v = g.leaf(x);
        let y = f(&mut g, v);
        g.value(y).unwrap()
    };
    (at(x + h) - at(x - h)) / (2.0 * h)
}

#[test]
fn every_operation_matches_central_differences() {
    let unary: [(&str, Unary, f64); 7] = [
        ("exp", Graph::exp, 0.7),
        ("ln", Graph::ln, 1.9),
        ("tanh", Graph::tanh, -0.4),
        ("relu +", Graph::relu, 0.8),
        ("relu −", Graph::relu, -0.8),
        ("sigmoid", Graph::sigmoid, 1.3),
        ("powi 3", |g, a| g.powi(a, 3), -1.2),
    ];
    for (name, op, x) in unary {
        let mut g = Graph::new();
        let a = g.leaf(x);
        let y = op(&mut g, a).unwrap();
        g.backward(y).unwrap();
        let numeric = central(|g, v| op(g, v).unwrap(), x);
        assert!((g.grad(a).unwrap() - numeric).abs() < 1e-8, "{name}: {} vs {numeric}", g.grad(a).unwrap());
    }
    let binary: [(&str, Binary); 4] =
        [("add", Graph::add), ("sub", Graph::sub), ("mul", Graph::mul), ("div", Graph::div)];
    for (name, op) in binary {
        let (x, y) = (1.7, -0.6);
        let mut g = Graph::new();
        let (a, b) = (g.leaf(x), g.leaf(y));
        let out = op(&mut g, a, b).unwrap();
        g.backward(out).unwrap();
        let da = central(
            |g, v| {
                let b = g.leaf(y);
                op(g, v, b).unwrap()
            },
            x,
        );
        let db = central(
            |g, v| {
                let a = g.leaf(x);
                op(g, a, v).unwrap()
            },
            y,
        );
        assert!((g.grad(a).unwrap() - da).abs() < 1e-8, "{name} ∂/∂a");
        assert!((g.grad(b).unwrap() - db).abs() < 1e-8, "{name} ∂/∂b");
    }
}

#[test]
fn a_node_used_twice_gets_both_shares() {
    // y = a · a + a: ∂y/∂a = 2a + 1, the three uses of a added
    let mut g = Graph::new();
    let a = g.leaf(3.0);
    let sq = g.mul(a, a).unwrap();
    let y = g.add(sq, a).unwrap();
    g.backward(y).unwrap();
    assert_eq!(g.grad(a).unwrap(), 7.0);
    // A diamond: b = 2a feeds both c = b² and d = eᵇ; y = c + d needs all of ∂y/∂b before b
    // passes it on to a.
    let mut g = Graph::new();
    let a = g.leaf(0.5);
    let two = g.leaf(2.0);
    let b = g.mul(two, a).unwrap();
    let c = g.powi(b, 2).unwrap();
    let d = g.exp(b).unwrap();
    let y = g.add(c, d).unwrap();
    g.backward(y).unwrap();
    let expected = 2.0 * (2.0 * 1.0 + 1f64.exp()); // ∂y/∂a = 2 (2b + eᵇ) at b = 1
    assert!((g.grad(a).unwrap() - expected).abs() < 1e-15);
}

#[test]
fn the_order_puts_every_node_after_its_inputs_and_skips_the_rest() {
    let mut g = Graph::new();
    let a = g.leaf(1.0);
    let unused = g.leaf(5.0);
    let b = g.tanh(a).unwrap();
    let c = g.mul(b, a).unwrap();
    let _elsewhere = g.exp(unused).unwrap();
    let order = g.topological_order(c).unwrap();
    assert_eq!(order.len(), 3);
    assert!(!order.contains(&unused));
    assert_eq!(order.last(), Some(&c));
    for (i, v) in order.iter().enumerate() {
        let inputs: Vec<Var> = match g.op(*v).unwrap() {
            Op::Tanh(x) => vec![x],
            Op::Mul(x, y) => vec![x, y],
            _ => vec![],
        };
        for x in inputs {
            assert!(order[..i].contains(&x), "{v:?} before its input {x:?}");
        }
    }
    // The unused leaf got no gradient.
    g.backward(c).unwrap();
    assert_eq!(g.grad(unused).unwrap(), 0.0);
}

#[test]
fn gradients_accumulate_until_zeroed() {
    let mut g = Graph::new();
    let (a, b) = (g.leaf(2.0), g.leaf(-1.5));
    let y = g.mul(a, b).unwrap();
    g.backward(y).unwrap();
    g.backward(y).unwrap();
    assert_eq!((g.grad(a).unwrap(), g.grad(b).unwrap()), (-3.0, 4.0)); // twice b, twice a
    g.zero_grad();
    g.backward(y).unwrap();
    assert_eq!((g.grad(a).unwrap(), g.grad(b).unwrap()), (-1.5, 2.0));
}

#[test]
fn a_node_of_another_graph_is_an_error_not_a_panic() {
    let mut g = Graph::new();
    let mut other = Graph::new();
    let a = g.leaf(1.0);
    let foreign = other.leaf(2.0);
    let err = g.add(a, foreign).unwrap_err();
    assert!(
        err.to_string().contains("another graph") || err.to_string().contains("not to this graph"),
        "{err}"
    );
    assert!(g.backward(foreign).is_err());
    assert!(g.grad(foreign).is_err());
    assert!(g.set_value(foreign, 1.0).is_err());
}

/// A [2, 3, 1] network (tanh, sigmoid + binary cross-entropy) on four examples, built from
/// scalars, against ann_core's backward on the same weights: every dW and db to 1e-12.
#[test]
fn a_small_network_on_scalars_equals_the_closed_form_backward() {
    let net = Network::new(&[2, 3, 1], Activation::Tanh, Task::Binary, Init::Xavier, 7).unwrap();
    let x = array![[0.5, -1.0, 2.0, 0.1], [1.5, 0.3, -0.7, -2.0]];
    let y = array![[1.0, 0.0, 1.0, 0.0]];
    let m = x.ncols();
    let mut g = Graph::new();
    let params: Vec<(Vec<Vec<Var>>, Vec<Var>)> = net
        .layers()
        .iter()
        .map(|layer| {
            let w = layer.w.rows().into_iter().map(|r| r.iter().map(|&v| g.leaf(v)).collect()).collect();
            let b = layer.b.column(0).iter().map(|&v| g.leaf(v)).collect();
            (w, b)
        })
        .collect();
    let zero = g.leaf(0.0);
    let one = g.leaf(1.0);
    let mut total = zero;
    for j in 0..m {
        let mut a: Vec<Var> = x.column(j).iter().map(|&v| g.leaf(v)).collect();
        for (l, (w, b)) in params.iter().enumerate() {
            let mut next = Vec::new();
            for (row, &bias) in w.iter().zip(b) {
                let mut z = bias;
                for (&wi, &ai) in row.iter().zip(&a) {
                    let p = g.mul(wi, ai).unwrap();
                    z = g.add(z, p).unwrap();
                }
                next.push(if l + 1 < params.len() { g.tanh(z).unwrap() } else { g.sigmoid(z).unwrap() });
            }
            a = next;
        }
        // ℓ = −(y ln a + (1 − y) ln(1 − a))
        let (yj, aj) = (g.leaf(y[[0, j]]), a[0]);
        let ln_a = g.ln(aj).unwrap();
        let one_minus_a = g.sub(one, aj).unwrap();
        let ln_1a = g.ln(one_minus_a).unwrap();
        let one_minus_y = g.sub(one, yj).unwrap();
        let t1 = g.mul(yj, ln_a).unwrap();
        let t2 = g.mul(one_minus_y, ln_1a).unwrap();
        let s = g.add(t1, t2).unwrap();
        total = g.sub(total, s).unwrap();
    }
    let count = g.leaf(m as f64);
    let loss = g.div(total, count).unwrap();
    g.backward(loss).unwrap();

    let cache = net.forward(x.view()).unwrap();
    assert!((g.value(loss).unwrap() - net.cost(&cache, y.view(), 0.0).unwrap()).abs() < 1e-12);
    let grads = net.backward(&cache, y.view(), 0.0).unwrap();
    for (l, (w, b)) in params.iter().enumerate() {
        let (dw, db) = (grads.dw(l + 1).unwrap(), grads.db(l + 1).unwrap());
        for (i, row) in w.iter().enumerate() {
            for (k, &wik) in row.iter().enumerate() {
                assert!((g.grad(wik).unwrap() - dw[[i, k]]).abs() < 1e-12, "dW[{}][{i},{k}]", l + 1);
            }
            assert!((g.grad(b[i]).unwrap() - db[[i, 0]]).abs() < 1e-12, "db[{}][{i}]", l + 1);
        }
    }
}

#[test]
fn nodes_print_as_their_operation() {
    let mut g = Graph::new();
    let (a, b) = (g.leaf(1.0), g.leaf(2.0));
    let c = g.mul(a, b).unwrap();
    let d = g.tanh(c).unwrap();
    assert_eq!(g.op(c).unwrap().to_string(), "v0 · v1");
    assert_eq!(g.op(d).unwrap().to_string(), "tanh(v2)");
    assert_eq!(g.op(a).unwrap().to_string(), "leaf");
}
