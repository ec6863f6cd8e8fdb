//! Exercise 2, cost and backpropagation: the stable losses, dW, db and dA of a layer, the
//! activations' backward step, and the L-layer backward pass.

use crate::forward::prefix;
use crate::grade::{
    Grader, Mistake, Wrong, attempt, compare, compare_gradients, compare_number, parts, random, rng,
    run_mistakes, shape,
};
use crate::report::Report;
use ann_core::{Activation, Cache, Eval, Init, Loss, Network, Task, one_hot};
use ndarray::{Array2, ArrayView2, Axis, array};
use rand::RngExt;

/// J from the output layer's logits Z[L] and the labels Y: `fn cost(z, y) -> f64`.
pub type Cost = fn(ArrayView2<f64>, ArrayView2<f64>) -> f64;
/// `fn linear_backward(dz, a_prev, w) -> (dw, db, da_prev)`.
pub type LinearBackward =
    fn(ArrayView2<f64>, ArrayView2<f64>, ArrayView2<f64>) -> (Array2<f64>, Array2<f64>, Array2<f64>);
/// dZ = dA ⊙ g'(Z): `fn g_backward(da, z) -> dz`.
pub type ActivationBackward = fn(ArrayView2<f64>, ArrayView2<f64>) -> Array2<f64>;
/// `fn l_layer_backward(net, cache, y) -> [(dW[1], db[1]), ..., (dW[L], db[L])]`.
pub type LLayerBackward = fn(&Network, &Cache<Eval>, ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)>;

/// Logits and 0/1 labels, with confident outputs (|z| up to 800) in the last case.
fn binary_cases() -> Vec<(Array2<f64>, Array2<f64>)> {
    let mut r = rng(21);
    // The course's compute_cost case: A = [[0.8, 0.9, 0.4]], i.e. Z = log(A / (1 − A)).
    let course = array![[0.8f64, 0.9, 0.4]].mapv(|a| (a / (1.0 - a)).ln());
    let z = random(1, 9, 4.0, &mut r);
    let y = Array2::from_shape_fn((1, 9), |_| if r.random_bool(0.5) { 1.0 } else { 0.0 });
    vec![
        (course, array![[1.0, 1.0, 0.0]]),
        (z, y),
        (array![[800.0, -800.0, 30.0, -2.0]], array![[0.0, 0.0, 1.0, 0.0]]),
    ]
}

/// J of binary cross-entropy from the logits, by the crate (the stable form).
fn bce(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
    let a = z.mapv(ann_core::sigmoid);
    Loss::BinaryCrossEntropy.cost(z, a.view(), y)
}

/// [`binary_cross_entropy`]'s planted mistakes.
const BINARY_CROSS_ENTROPY: &[Mistake<Cost>] = &[
    Mistake {
        name: "no 1/m",
        hint: "Average over the m examples: J = (1/m) Σ ...",
        wrong: |z, y| bce(z, y) * y.ncols() as f64,
    },
    Mistake {
        name: "sign",
        hint: "The cross-entropy is −[y log a + (1 − y) log(1 − a)]: mind the sign.",
        wrong: |z, y| -bce(z, y),
    },
    Mistake {
        name: "log σ(z)",
        hint: "log(σ(z)) is −inf when σ(z) rounds to 0 or 1: use the form from the logits, max(z, 0) − z·y + log(1 + e^(−|z|)).",
        wrong: |z, y| {
            let a = z.mapv(ann_core::sigmoid);
            -(&y * &a.mapv(f64::ln) + (1.0 - &y) * &a.mapv(|a| (1.0 - a).ln())).sum() / y.ncols() as f64
        },
    },
];

/// Checks J = (1/m) Σ [max(z, 0) − z y + log(1 + e^(−|z|))] (binary cross-entropy from logits).
pub fn binary_cross_entropy(f: Cost) -> Report {
    grade_cost("binary_cross_entropy", f, binary_cases(), bce, BINARY_CROSS_ENTROPY)
}

/// Grades a cost function on (Z, Y) cases against `expected_of`.
fn grade_cost(
    name: &'static str,
    f: Cost,
    cases: Vec<(Array2<f64>, Array2<f64>)>,
    expected_of: impl Fn(ArrayView2<f64>, ArrayView2<f64>) -> f64,
    table: &[Mistake<Cost>],
) -> Report {
    let mut g = Grader::new(name, cases.len());
    for (z, y) in &cases {
        let expected = expected_of(z.view(), y.view());
        let call = |f: Cost| f(z.view(), y.view());
        let wrong = run_mistakes(table, call);
        let inputs = || format!("Z {}, Y {}", shape(z.view()), shape(y.view()));
        if let Err(report) = g.case(inputs, attempt(|| call(f)), |got| compare_number(expected, got, &wrong))
        {
            return report;
        }
    }
    g.finish()
}

/// J of softmax cross-entropy from the logits, by the crate (the stable form).
fn ce(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
    let a = Activation::Softmax.forward(z);
    Loss::CrossEntropy.cost(z, a.view(), y)
}

/// −(1/m) Σ Y ⊙ log A, from the probabilities A.
fn ce_of_probabilities(a: &Array2<f64>, y: ArrayView2<f64>) -> f64 {
    -(&y * &a.mapv(f64::ln)).sum() / y.ncols() as f64
}

/// [`cross_entropy`]'s planted mistakes.
const CROSS_ENTROPY: &[Mistake<Cost>] = &[
    Mistake {
        name: "no 1/m",
        hint: "Average over the m examples (columns): J = (1/m) Σ ...",
        wrong: |z, y| ce(z, y) * y.ncols() as f64,
    },
    Mistake {
        name: "no max subtracted",
        hint: "e^1000 overflows: subtract each column's max before e^z (log Σ e^z = max z + log Σ e^(z − max z)).",
        wrong: |z, y| {
            let exp = z.mapv(f64::exp);
            ce_of_probabilities(&(&exp / &exp.sum_axis(Axis(0))), y)
        },
    },
    Mistake {
        name: "softmax over rows",
        hint: "The softmax normalizes each column (one example), not each row.",
        wrong: |z, y| ce_of_probabilities(&Activation::Softmax.forward(z.t()).reversed_axes(), y),
    },
];

/// Checks J = −(1/m) Σ_j Σ_i y_ij (z_ij − log Σ_k e^(z_kj)) (softmax cross-entropy from logits).
pub fn cross_entropy(f: Cost) -> Report {
    let mut r = rng(22);
    let mut cases =
        vec![(array![[2.0, 0.1], [1.0, 2.5], [0.1, -1.0]], array![[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])];
    let labels: Vec<usize> = (0..7).map(|_| r.random_range(0..4)).collect();
    cases.push((random(4, 7, 3.0, &mut r), one_hot(&labels, 4)));
    cases.push((array![[1000.0, 0.0], [-1000.0, 900.0]], array![[0.0, 1.0], [1.0, 0.0]]));
    grade_cost("cross_entropy", f, cases, ce, CROSS_ENTROPY)
}

/// dW = (1/m) dZ·A_prevᵀ, db = (1/m) Σ_columns dZ, dA_prev = Wᵀ·dZ, right: what a planted
/// mistake changes one of.
fn linear_grads(
    dz: ArrayView2<f64>,
    a_prev: ArrayView2<f64>,
    w: ArrayView2<f64>,
) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    let m = dz.ncols() as f64;
    (dz.dot(&a_prev.t()) / m, dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / m, w.t().dot(&dz))
}

/// [`linear_backward`]'s planted mistakes, each in one of dW, db, dA_prev.
const LINEAR_BACKWARD: &[Mistake<LinearBackward>] = &[
    Mistake {
        name: "dW without 1/m",
        hint: "dW is averaged over the examples: (1/m) dZ·A_prevᵀ.",
        wrong: |dz, a_prev, w| {
            let (_, db, da) = linear_grads(dz, a_prev, w);
            (dz.dot(&a_prev.t()), db, da)
        },
    },
    Mistake {
        name: "dW transposed",
        hint: "dW has W's shape (n_l, n_(l−1)): dZ·A_prevᵀ, not A_prev·dZᵀ.",
        wrong: |dz, a_prev, w| {
            let (_, db, da) = linear_grads(dz, a_prev, w);
            (a_prev.dot(&dz.t()) / dz.ncols() as f64, db, da)
        },
    },
    Mistake {
        name: "db without 1/m",
        hint: "db is averaged over the examples: (1/m) Σ dZ.",
        wrong: |dz, a_prev, w| {
            let (dw, _, da) = linear_grads(dz, a_prev, w);
            (dw, dz.sum_axis(Axis(1)).insert_axis(Axis(1)), da)
        },
    },
    Mistake {
        name: "db over axis 0",
        hint: "Sum dZ over the examples (the columns, axis 1), keeping a column: shape (n_l, 1).",
        wrong: |dz, a_prev, w| {
            let (dw, _, da) = linear_grads(dz, a_prev, w);
            (dw, dz.sum_axis(Axis(0)).insert_axis(Axis(0)) / dz.ncols() as f64, da)
        },
    },
    Mistake {
        name: "dA_prev with 1/m",
        hint: "dA_prev = Wᵀ·dZ has no 1/m: the 1/m belongs to dW and db only.",
        wrong: |dz, a_prev, w| {
            let (dw, db, da) = linear_grads(dz, a_prev, w);
            (dw, db, da / dz.ncols() as f64)
        },
    },
];

/// Checks dW = (1/m) dZ·A_prevᵀ, db = (1/m) Σ_columns dZ, dA_prev = Wᵀ·dZ.
pub fn linear_backward(f: LinearBackward) -> Report {
    let mut r = rng(23);
    let cases: Vec<_> = [(1, 3, 2), (4, 3, 5), (2, 6, 7)]
        .iter()
        .map(|&(n, k, m)| (random(n, m, 1.0, &mut r), random(k, m, 1.5, &mut r), random(n, k, 1.0, &mut r)))
        .collect();
    let mut g = Grader::new("linear_backward", cases.len());
    for (dz, a_prev, w) in &cases {
        let (dw, db, da) = linear_grads(dz.view(), a_prev.view(), w.view());
        let inputs =
            || format!("dZ {}, A_prev {}, W {}", shape(dz.view()), shape(a_prev.view()), shape(w.view()));
        let call = |f: LinearBackward| f(dz.view(), a_prev.view(), w.view());
        let wrong = run_mistakes(LINEAR_BACKWARD, call);
        let check = |got| compare_gradients((&dw, &db, &da), got, &wrong);
        if let Err(report) = g.case(inputs, attempt(|| call(f)), check) {
            return report;
        }
    }
    g.finish()
}

fn grade_activation_backward(
    name: &'static str,
    f: ActivationBackward,
    act: Activation,
    table: &[Mistake<ActivationBackward>],
) -> Report {
    let mut r = rng(24);
    let cases = vec![
        (array![[1.0, -2.0, 0.5]], array![[-1.0, 0.0, 3.0]]),
        (random(3, 6, 1.0, &mut r), random(3, 6, 3.0, &mut r)),
        (random(5, 2, 2.0, &mut r), random(5, 2, 8.0, &mut r)),
    ];
    let mut g = Grader::new(name, cases.len());
    for (da, z) in &cases {
        let a = act.forward(z.view());
        let expected = act.backward(z.view(), a.view(), da.view());
        let call = |f: ActivationBackward| f(da.view(), z.view());
        let wrong = run_mistakes(table, call);
        let inputs = || format!("dA {}, Z {}", shape(da.view()), shape(z.view()));
        let check = |got: Array2<f64>| compare(expected.view(), got.view(), &parts(&wrong, Some));
        if let Err(report) = g.case(inputs, attempt(|| call(f)), check) {
            return report;
        }
    }
    g.finish()
}

/// [`relu_backward`]'s planted mistakes.
const RELU_BACKWARD: &[Mistake<ActivationBackward>] = &[
    Mistake {
        name: "dA passed through",
        hint: "Units with Z ≤ 0 passed no signal forward and pass none back: dZ = dA where Z > 0, else 0.",
        wrong: |da, _| da.to_owned(),
    },
    Mistake {
        name: "times g(Z)",
        hint: "Multiply by g'(Z) (1 or 0), not by g(Z) = max(0, Z).",
        wrong: |da, z| &da * &z.mapv(|v| v.max(0.0)),
    },
    Mistake {
        name: "g'(Z) alone",
        hint: "That is g'(Z) alone: multiply it with dA.",
        wrong: |_, z| z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 }),
    },
];

/// Checks dZ = dA where Z > 0, and 0 elsewhere.
pub fn relu_backward(f: ActivationBackward) -> Report {
    grade_activation_backward("relu_backward", f, Activation::Relu, RELU_BACKWARD)
}

/// [`sigmoid_backward`]'s planted mistakes.
const SIGMOID_BACKWARD: &[Mistake<ActivationBackward>] = &[
    Mistake {
        name: "times σ(Z)",
        hint: "σ'(z) = σ(z)(1 − σ(z)), not σ(z).",
        wrong: |da, z| &da * &z.mapv(ann_core::sigmoid),
    },
    Mistake {
        name: "Z(1 − Z)",
        hint: "σ'(z) = σ(z)(1 − σ(z)): apply σ to Z first.",
        wrong: |da, z| &da * &z.mapv(|v| v * (1.0 - v)),
    },
    Mistake {
        name: "σ'(Z) alone",
        hint: "That is σ'(Z) alone: multiply it with dA.",
        wrong: |_, z| {
            let s = z.mapv(ann_core::sigmoid);
            &s * &(1.0 - &s)
        },
    },
];

/// Checks dZ = dA ⊙ σ(Z)(1 − σ(Z)).
pub fn sigmoid_backward(f: ActivationBackward) -> Report {
    grade_activation_backward("sigmoid_backward", f, Activation::Sigmoid, SIGMOID_BACKWARD)
}

/// Networks, inputs and labels for the L-layer backward pass: ReLU hidden layers with a
/// sigmoid or a softmax output.
fn backward_cases() -> Vec<(Network, Array2<f64>, Array2<f64>)> {
    let mut r = rng(25);
    let mut cases = Vec::new();
    for (sizes, task, m) in [
        (vec![3, 4, 1], Task::Binary, 5),
        (vec![2, 5, 4, 3], Task::MultiClass, 6),
        (vec![4, 6, 6, 1], Task::Binary, 3),
    ] {
        let Ok(mut net) = Network::new(&sizes, Activation::Relu, task, Init::He, 7) else { continue };
        for layer in net.layers_mut() {
            layer.b = random(layer.b.nrows(), 1, 0.3, &mut r);
        }
        let x = random(sizes[0], m, 1.5, &mut r);
        let k = *sizes.last().unwrap_or(&1);
        let y = match task {
            Task::MultiClass => one_hot(&(0..m).map(|_| r.random_range(0..k)).collect::<Vec<_>>(), k),
            _ => Array2::from_shape_fn((1, m), |_| if r.random_bool(0.5) { 1.0 } else { 0.0 }),
        };
        cases.push((net, x, y));
    }
    cases
}

/// Backpropagation by hand, no L2, no dropout, from dZ[L] = A[L] − Y (sigmoid with binary
/// cross-entropy, softmax with cross-entropy): (dW[l], db[l]) for l = 1..=L, with dW divided
/// by `dw_over` and db by `db_over` (both m when right).
fn backprop(
    net: &Network,
    cache: &Cache<Eval>,
    y: ArrayView2<f64>,
    dw_over: f64,
    db_over: f64,
) -> Vec<(Array2<f64>, Array2<f64>)> {
    let mut dz = &cache.output() - &y;
    let mut grads = Vec::new();
    for l in (1..=net.num_layers()).rev() {
        let Some(a_prev) = cache.a(l - 1) else { break };
        grads.push((dz.dot(&a_prev.t()) / dw_over, dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / db_over));
        // Z[0] does not exist: layer 1 ends the pass.
        if let Some(z_prev) = cache.z(l - 1) {
            let da = net.layers()[l - 1].w.t().dot(&dz);
            dz = net.layers()[l - 2].activation.backward(z_prev, a_prev, da.view());
        }
    }
    grads.reverse();
    grads
}

/// [`l_layer_backward`]'s planted mistakes. Two more hints come from the result's form, not
/// from one implementation: the wrong number of pairs, and a hidden layer wrong where the
/// last is right (the step from dZ[l+1] to dZ[l] can go wrong in many ways).
const L_LAYER_BACKWARD: &[Mistake<LLayerBackward>] = &[
    Mistake {
        name: "dW without 1/m",
        hint: "dW[l] = (1/m) dZ[l]·A[l−1]ᵀ: the 1/m is missing.",
        wrong: |net, cache, y| backprop(net, cache, y, 1.0, y.ncols() as f64),
    },
    Mistake {
        name: "db without 1/m",
        hint: "db[l] = (1/m) Σ dZ[l]: the 1/m is missing.",
        wrong: |net, cache, y| backprop(net, cache, y, y.ncols() as f64, 1.0),
    },
];

/// Checks the L-layer backward pass (no L2, no dropout) against [`Network::backward`].
pub fn l_layer_backward(f: LLayerBackward) -> Report {
    let cases = backward_cases();
    let mut g = Grader::new("l_layer_backward", cases.len());
    for (net, x, y) in &cases {
        let Ok(cache) = net.forward(x.view()) else { continue };
        let Ok(grads) = net.backward(&cache, y.view(), 0.0) else { continue };
        let inputs = || format!("sizes {:?}, X {}", net.sizes(), shape(x.view()));
        let call = |f: LLayerBackward| f(net, &cache, y.view());
        let wrong = run_mistakes(L_LAYER_BACKWARD, call);
        let check = |got: Vec<(Array2<f64>, Array2<f64>)>| {
            if got.len() != net.num_layers() {
                return Err(Wrong {
                    problem: format!("expected {} (dW, db) pairs, one per layer, got {}", net.num_layers(), got.len()),
                    hint: Some("Return (dW[l], db[l]) for l = 1..=L, layer 1 first (reverse the list built from L down).".into()),
                    expected: format!("{} layers", net.num_layers()),
                    got: format!("{} entries", got.len()),
                });
            }
            for (l, ((dw, db), (ref_dw, ref_db))) in got.iter().zip(grads.layers()).enumerate().rev() {
                compare(ref_dw.view(), dw.view(), &parts(&wrong, |r| r.get(l).map(|p| &p.0)))
                    .map_err(|w| {
                        let hint = (l + 1 < net.num_layers()).then_some("The last layer is right: check dA[l] = W[l+1]ᵀ·dZ[l+1] and dZ[l] = dA[l] ⊙ g'(Z[l]).");
                        let mut w = prefix(w, &format!("dW[{}]", l + 1));
                        w.hint = w.hint.or(hint.map(str::to_string));
                        w
                    })?;
                compare(ref_db.view(), db.view(), &parts(&wrong, |r| r.get(l).map(|p| &p.1)))
                    .map_err(|w| prefix(w, &format!("db[{}]", l + 1)))?;
            }
            Ok(())
        };
        if let Err(report) = g.case(inputs, attempt(|| call(f)), check) {
            return report;
        }
    }
    g.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::tests::check_table;

    fn llb_ok(net: &Network, cache: &Cache<Eval>, y: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        let m = y.ncols() as f64;
        backprop(net, cache, y, m, m)
    }

    /// This file's graders, each with a reference implementation and its planted mistakes.
    pub(crate) fn tables() -> Vec<String> {
        [
            check_table(binary_cross_entropy, BINARY_CROSS_ENTROPY, bce),
            check_table(cross_entropy, CROSS_ENTROPY, ce),
            check_table(linear_backward, LINEAR_BACKWARD, |dz, a, w| {
                let m = dz.ncols() as f64;
                (dz.dot(&a.t()) / m, dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / m, w.t().dot(&dz))
            }),
            check_table(relu_backward, RELU_BACKWARD, |da, z| {
                &da * &z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 })
            }),
            check_table(sigmoid_backward, SIGMOID_BACKWARD, |da, z| {
                let s = z.mapv(ann_core::sigmoid);
                &da * &(&s * &(1.0 - &s))
            }),
            check_table(l_layer_backward, L_LAYER_BACKWARD, llb_ok),
        ]
        .concat()
    }

    /// dZ[l] = dA[l] in the hidden layers: the derivative of g left out.
    fn llb_no_g(net: &Network, cache: &Cache<Eval>, y: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        let mut linear = net.clone();
        let hidden = linear.num_layers() - 1;
        for layer in &mut linear.layers_mut()[..hidden] {
            layer.activation = Activation::Linear;
        }
        llb_ok(&linear, cache, y)
    }
    fn llb_order(net: &Network, cache: &Cache<Eval>, y: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        let mut v = llb_ok(net, cache, y);
        v.reverse();
        v
    }

    #[test]
    fn l_layer_backward_points_at_the_step_between_layers_and_refuses_another_order() {
        let r = l_layer_backward(llb_no_g);
        assert!(r.hint().unwrap().contains("g'(Z[l])"), "{r}");
        let order = l_layer_backward(llb_order);
        assert!(!order.is_passed(), "{order}");
    }
}
