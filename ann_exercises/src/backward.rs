//! Exercise 2, cost and backpropagation: the stable losses, dW, db and dA of a layer, the
//! activations' backward step, and the L-layer backward pass.

use crate::forward::prefix;
use crate::grade::{
    Grader, Mistake, Wrong, attempt, central_differences, compare, compare_gradients, compare_number,
    gradient_check, parts, random, rng, run_mistakes, shape,
};
use crate::report::Report;
use ann_core::{Activation, Cache, Dropout, Eval, Init, Loss, Network, Task, Train, one_hot};
use ndarray::{Array2, ArrayView2, Axis, array};
use rand::RngExt;

/// J from the output layer's logits Z[L] and the labels Y: `fn cost(z, y) -> f64`.
pub type Cost = fn(ArrayView2<f64>, ArrayView2<f64>) -> f64;
/// `fn linear_backward(dz, a_prev, w) -> (dw, db, da_prev)`.
pub type LinearBackward =
    fn(ArrayView2<f64>, ArrayView2<f64>, ArrayView2<f64>) -> (Array2<f64>, Array2<f64>, Array2<f64>);
/// dZ = dA ⊙ g'(Z): `fn g_backward(da, z) -> dz`.
pub type ActivationBackward = fn(ArrayView2<f64>, ArrayView2<f64>) -> Array2<f64>;
/// `fn l_layer_backward(net, cache, y) -> [(dW[1], db[1]), ..., (dW[L], db[L])]`, from an
/// evaluation pass (`Cache<Eval>`, exercise 2) or a training pass with dropout masks
/// (`Cache<Train>`, exercise 6).
pub type LLayerBackward<M = Eval> =
    fn(&Network, &Cache<M>, ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)>;

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
        hint: "The cost is an average over the m examples of the batch. | J = (1/m) Σ_j L_j.",
        wrong: |z, y| bce(z, y) * y.ncols() as f64,
    },
    Mistake {
        name: "sign",
        hint: "The sign is reversed: a good prediction must have a small cost. | L = −[y log a + (1 − y) log(1 − a)].",
        wrong: |z, y| -bce(z, y),
    },
    Mistake {
        name: "log σ(z)",
        hint: "log(σ(z)) is −inf when σ(z) rounds to 0 or 1: compute the cost from the logit z itself. | L = max(z, 0) − z·y + log(1 + e^(−|z|)).",
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
        hint: "The cost is an average over the m examples (columns) of the batch. | J = (1/m) Σ_j L_j.",
        wrong: |z, y| ce(z, y) * y.ncols() as f64,
    },
    Mistake {
        name: "no max subtracted",
        hint: "e^1000 overflows: the log-sum-exp must be computed with exponents that are never positive. | log Σ_k e^(z_k) = max z + log Σ_k e^(z_k − max z), per column.",
        wrong: |z, y| {
            let exp = z.mapv(f64::exp);
            ce_of_probabilities(&(&exp / &exp.sum_axis(Axis(0))), y)
        },
    },
    Mistake {
        name: "softmax over rows",
        hint: "The softmax runs over the classes of one example (a column), not over a row. | a_ij = e^(z_ij) / Σ_k e^(z_kj).",
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

/// [`linear_backward`]'s planted mistakes, each in one of dW, db, dA_prev. Case 1 is square
/// (dZ, A_prev and W all (3, 3)), so that a product in the wrong order or without its
/// transpose gives a wrong value the grader names rather than a panic.
const LINEAR_BACKWARD: &[Mistake<LinearBackward>] = &[
    Mistake {
        name: "dW without 1/m",
        hint: "dW averages over the m examples of the batch. | dW = (1/m) dZ·A_prevᵀ.",
        wrong: |dz, a_prev, w| {
            let (_, db, da) = linear_grads(dz, a_prev, w);
            (dz.dot(&a_prev.t()), db, da)
        },
    },
    Mistake {
        name: "dW transposed",
        hint: "dW has the shape of W, (n_l, n_(l−1)): the product is in the wrong order. | dW = (1/m) dZ·A_prevᵀ, not A_prev·dZᵀ.",
        wrong: |dz, a_prev, w| {
            let (_, db, da) = linear_grads(dz, a_prev, w);
            (a_prev.dot(&dz.t()) / dz.ncols() as f64, db, da)
        },
    },
    Mistake {
        name: "dW without the transpose",
        hint: "dW pairs every unit's dZ with every input of A_prev, example by example: the sum runs over the examples, so A_prev enters transposed. | dW = (1/m) dZ·A_prevᵀ.",
        wrong: |dz, a_prev, w| {
            let (_, db, da) = linear_grads(dz, a_prev, w);
            (dz.dot(&a_prev) / dz.ncols() as f64, db, da)
        },
    },
    Mistake {
        name: "db without 1/m",
        hint: "db averages over the m examples of the batch. | db = (1/m) Σ_columns dZ.",
        wrong: |dz, a_prev, w| {
            let (dw, _, da) = linear_grads(dz, a_prev, w);
            (dw, dz.sum_axis(Axis(1)).insert_axis(Axis(1)), da)
        },
    },
    Mistake {
        name: "db over axis 0",
        hint: "db has one entry per unit, like b: sum over the examples (the columns), not over the units. | db = (1/m) Σ_columns dZ, shape (n_l, 1): a sum along axis 1.",
        wrong: |dz, a_prev, w| {
            let (dw, _, da) = linear_grads(dz, a_prev, w);
            (dw, dz.sum_axis(Axis(0)).insert_axis(Axis(0)) / dz.ncols() as f64, da)
        },
    },
    Mistake {
        name: "dA_prev with 1/m",
        hint: "dA_prev is a per-example gradient, like dZ: it is not averaged. | dA_prev = Wᵀ·dZ, no 1/m (the 1/m belongs to dW and db).",
        wrong: |dz, a_prev, w| {
            let (dw, db, da) = linear_grads(dz, a_prev, w);
            (dw, db, da / dz.ncols() as f64)
        },
    },
    Mistake {
        name: "dA_prev without the transpose",
        hint: "dA_prev sends each unit's gradient back along the weights it came in by: W maps A_prev to Z, so the way back goes through W transposed. | dA_prev = Wᵀ·dZ, not W·dZ.",
        wrong: |dz, a_prev, w| {
            let (dw, db, _) = linear_grads(dz, a_prev, w);
            (dw, db, w.dot(&dz))
        },
    },
    Mistake {
        name: "dA_prev in the wrong order",
        hint: "The product for dA_prev is in the wrong order: a matrix product does not commute. | dA_prev = Wᵀ·dZ, Wᵀ (n_(l−1), n_l) on the left.",
        wrong: |dz, a_prev, w| {
            let (dw, db, _) = linear_grads(dz, a_prev, w);
            (dw, db, dz.dot(&w.t()))
        },
    },
];

/// The products of [`linear_backward`].
const LINEAR_BACKWARD_PRODUCTS: &[crate::grade::Product] = &[
    ("dW = (1/m) dZ·A_prevᵀ, (n_l, m)·(m, n_(l−1))", "dZ", "A_prev"),
    ("dA_prev = Wᵀ·dZ, (n_(l−1), n_l)·(n_l, m)", "W", "dZ"),
];

/// Checks dW = (1/m) dZ·A_prevᵀ, db = (1/m) Σ_columns dZ, dA_prev = Wᵀ·dZ, on a square case
/// first.
pub fn linear_backward(f: LinearBackward) -> Report {
    let mut r = rng(23);
    let cases: Vec<_> = [(3, 3, 3), (1, 3, 2), (4, 3, 5), (2, 6, 7)]
        .iter()
        .map(|&(n, k, m)| (random(n, m, 1.0, &mut r), random(k, m, 1.5, &mut r), random(n, k, 1.0, &mut r)))
        .collect();
    let mut g = Grader::new("linear_backward", cases.len()).products(LINEAR_BACKWARD_PRODUCTS);
    for (dz, a_prev, w) in &cases {
        let (dw, db, da) = linear_grads(dz.view(), a_prev.view(), w.view());
        let inputs =
            || format!("dZ {}, A_prev {}, W {}", shape(dz.view()), shape(a_prev.view()), shape(w.view()));
        g.explain(
            vec![("dZ", dz.dim()), ("A_prev", a_prev.dim()), ("W", w.dim())],
            Some(format!(
                "dW is {}, like W; db is {}, a column like b; dA_prev is {}, like A_prev.",
                shape(dw.view()),
                shape(db.view()),
                shape(da.view())
            )),
        );
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
        let inputs = || format!("dA {}, Z {}", shape(da.view()), shape(z.view()));
        g.explain(
            vec![("dA", da.dim()), ("Z", z.dim())],
            Some(format!(
                "dA and Z are both {}, and so is dZ: every operation here is entry by entry (no matrix product).",
                shape(z.view())
            )),
        );
        if let Err(report) = g.array_case(inputs, expected.view(), table, call, f) {
            return report;
        }
    }
    g.finish()
}

/// [`relu_backward`]'s planted mistakes.
const RELU_BACKWARD: &[Mistake<ActivationBackward>] = &[
    Mistake {
        name: "dA passed through",
        hint: "Units with Z ≤ 0 passed no signal forward and pass none back. | dZ = dA where Z > 0, else 0.",
        wrong: |da, _| da.to_owned(),
    },
    Mistake {
        name: "times g(Z)",
        hint: "The chain rule multiplies by the derivative g'(Z), not by g(Z). | dZ = dA ⊙ g'(Z), with ReLU'(z) = 1 for z > 0, else 0.",
        wrong: |da, z| &da * &z.mapv(|v| v.max(0.0)),
    },
    Mistake {
        name: "g'(Z) alone",
        hint: "That is g'(Z) alone: the gradient that arrives, dA, is missing. | dZ = dA ⊙ g'(Z).",
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
        hint: "The chain rule multiplies by the derivative σ'(Z), not by σ(Z). | σ'(z) = σ(z)(1 − σ(z)).",
        wrong: |da, z| &da * &z.mapv(ann_core::sigmoid),
    },
    Mistake {
        name: "Z(1 − Z)",
        hint: "The derivative is written in terms of σ(z), not of z. | σ'(z) = σ(z)(1 − σ(z)): apply σ to Z first.",
        wrong: |da, z| &da * &z.mapv(|v| v * (1.0 - v)),
    },
    Mistake {
        name: "σ'(Z) alone",
        hint: "That is σ'(Z) alone: the gradient that arrives, dA, is missing. | dZ = dA ⊙ σ(Z)(1 − σ(Z)).",
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

/// [`tanh_backward`]'s planted mistakes.
const TANH_BACKWARD: &[Mistake<ActivationBackward>] = &[
    Mistake {
        name: "1 − Z²",
        hint: "The derivative is written in terms of tanh(z), not of z. | tanh'(z) = 1 − tanh²(z): apply tanh to Z first.",
        wrong: |da, z| &da * &z.mapv(|v| 1.0 - v * v),
    },
    Mistake {
        name: "1 − tanh",
        hint: "The derivative of tanh has a square in it. | tanh'(z) = 1 − tanh²(z).",
        wrong: |da, z| &da * &z.mapv(|v| 1.0 - v.tanh()),
    },
    Mistake {
        name: "times tanh(Z)",
        hint: "The chain rule multiplies by the derivative tanh'(Z), not by tanh(Z). | dZ = dA ⊙ (1 − tanh²(Z)).",
        wrong: |da, z| &da * &z.mapv(f64::tanh),
    },
    Mistake {
        name: "sigmoid's derivative",
        hint: "That is the sigmoid's derivative σ(z)(1 − σ(z)), not tanh's. | tanh'(z) = 1 − tanh²(z).",
        wrong: |da, z| {
            let s = z.mapv(ann_core::sigmoid);
            &da * &(&s * &(1.0 - &s))
        },
    },
    Mistake {
        name: "tanh'(Z) alone",
        hint: "That is tanh'(Z) alone: the gradient that arrives, dA, is missing. | dZ = dA ⊙ (1 − tanh²(Z)).",
        wrong: |_, z| z.mapv(|v| 1.0 - v.tanh().powi(2)),
    },
];

/// Checks dZ = dA ⊙ (1 − tanh²(Z)).
pub fn tanh_backward(f: ActivationBackward) -> Report {
    grade_activation_backward("tanh_backward", f, Activation::Tanh, TANH_BACKWARD)
}

/// `fn softmax_cross_entropy_backward(z, y) -> dZ[L]`: the output layer's dZ for a softmax
/// with cross-entropy, per example (dZ = m ∂J/∂Z, the course's convention).
pub type OutputBackward = fn(ArrayView2<f64>, ArrayView2<f64>) -> Array2<f64>;

/// [`softmax_cross_entropy_backward`]'s planted mistakes.
const SOFTMAX_CE_BACKWARD: &[Mistake<OutputBackward>] = &[
    Mistake {
        name: "with 1/m",
        hint: "Off by the factor 1/m: the course's dZ is each example's own gradient, m·∂J/∂Z (the 1/m comes later, in dW and db). | dZ[:, j] = ∂L_j/∂Z[:, j], the loss of example j alone.",
        wrong: |z, y| (Activation::Softmax.forward(z) - y) / y.ncols() as f64,
    },
    Mistake {
        name: "sign",
        hint: "The sign is reversed: moving z along −dZ must lower the loss. | Check ∂L/∂z_k on paper for one example: L = −Σ_i y_i log a_i.",
        wrong: |z, y| &y - &Activation::Softmax.forward(z),
    },
    Mistake {
        name: "diagonal of the Jacobian only",
        hint: "Every a_i depends on every z_k: the softmax's Jacobian is a full matrix, not its diagonal a_k(1 − a_k). | ∂L/∂z_k = Σ_i (∂L/∂a_i)(∂a_i/∂z_k) with ∂a_i/∂z_k = a_i(δ_ik − a_k).",
        wrong: |z, y| {
            let a = Activation::Softmax.forward(z);
            -(&y / &a) * &a * &(1.0 - &a)
        },
    },
    Mistake {
        name: "∂L/∂A",
        hint: "That is ∂L/∂A, the gradient with respect to the probabilities; the softmax's own step back to Z is missing. | Chain ∂L/∂a_i with ∂a_i/∂z_k and sum over i.",
        wrong: |z, y| -(&y / &Activation::Softmax.forward(z)),
    },
];

/// Step of the central differences in the derive-it graders: with J about 1, the rounding of
/// J over h is about 1e-11 and the truncation h² about 1e-10, both far below the tolerance.
const H: f64 = 1e-5;

/// Checks the output layer's dZ of softmax + cross-entropy, from the learner's own derivation,
/// by a gradient check: the expected values are central differences of the sum of the
/// examples' losses, Σ_j L_j = m·J (whose gradient is the course's dZ), on seeded cases.
pub fn softmax_cross_entropy_backward(f: OutputBackward) -> Report {
    let mut r = rng(26);
    let mut cases = Vec::new();
    for (k, m, scale) in [(3, 4, 2.0), (4, 6, 3.0), (2, 3, 1.0), (5, 2, 6.0)] {
        let labels: Vec<usize> = (0..m).map(|_| r.random_range(0..k)).collect();
        cases.push((random(k, m, scale, &mut r), one_hot(&labels, k)));
    }
    let mut g = Grader::new("softmax_cross_entropy_backward", cases.len());
    for (z, y) in &cases {
        let m = y.ncols() as f64;
        let numeric = central_differences(|z| ce(z.view(), y.view()) * m, z, H);
        let call = |f: OutputBackward| f(z.view(), y.view());
        let wrong = run_mistakes(SOFTMAX_CE_BACKWARD, call);
        let inputs = || {
            format!(
                "gradient check, central differences of Σ_j L_j with h = {H:e}: Z {}, Y {} one-hot",
                shape(z.view()),
                shape(y.view())
            )
        };
        let check = |got: Array2<f64>| {
            gradient_check(numeric.view(), got.view(), &parts(&wrong, Some)).map_err(|w| prefix(w, "dZ"))
        };
        if let Err(report) = g.case(inputs, attempt(|| call(f)), check) {
            return report;
        }
    }
    g.finish()
}

/// The kinds of forward pass [`l_layer_backward`] grades a backward pass on: an evaluation
/// pass (no dropout) or a training pass, whose cases add dropout on the hidden layers.
pub trait BackwardPass: Sized + 'static {
    /// The networks, their caches and labels, and how to describe each case.
    #[doc(hidden)]
    fn cases() -> Vec<(Network, Cache<Self>, Array2<f64>, String)>;
    /// D[l] of a cache (None without dropout).
    #[doc(hidden)]
    fn mask(cache: &Cache<Self>, l: usize) -> Option<ArrayView2<'_, f64>>;
    /// keep_prob[l] of a cache (1 without dropout).
    #[doc(hidden)]
    fn keep_prob(cache: &Cache<Self>, l: usize) -> f64;
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

fn describe(net: &Network, x: &Array2<f64>) -> String {
    format!("sizes {:?}, X {}", net.sizes(), shape(x.view()))
}

impl BackwardPass for Eval {
    fn cases() -> Vec<(Network, Cache<Eval>, Array2<f64>, String)> {
        backward_cases()
            .into_iter()
            .filter_map(|(net, x, y)| {
                let cache = net.forward(x.view()).ok()?;
                let what = describe(&net, &x);
                Some((net, cache, y, what))
            })
            .collect()
    }
    fn mask(_: &Cache<Eval>, _: usize) -> Option<ArrayView2<'_, f64>> {
        None
    }
    fn keep_prob(_: &Cache<Eval>, _: usize) -> f64 {
        1.0
    }
}

impl BackwardPass for Train {
    /// The cases without dropout first (a training pass without masks), then two networks
    /// with dropout on their hidden layers (masks drawn from a seeded generator).
    fn cases() -> Vec<(Network, Cache<Train>, Array2<f64>, String)> {
        let mut rng = rng(27);
        let mut out = Vec::new();
        let with_dropout = [(0, 0.8), (1, 0.6)];
        let cases = backward_cases();
        for (net, x, y) in &cases {
            if let Ok(cache) = net.forward_train(x.view(), &Dropout::Off, &mut rng) {
                out.push((net.clone(), cache, y.clone(), describe(net, x)));
            }
        }
        for (i, keep) in with_dropout {
            let (net, x, y) = &cases[i];
            let dropout = Dropout::Hidden(keep);
            if let Ok(cache) = net.forward_train(x.view(), &dropout, &mut rng) {
                out.push((
                    net.clone(),
                    cache,
                    y.clone(),
                    format!("{}, dropout keep_prob {keep} on the hidden layers", describe(net, x)),
                ));
            }
        }
        out
    }
    fn mask(cache: &Cache<Train>, l: usize) -> Option<ArrayView2<'_, f64>> {
        cache.mask(l)
    }
    fn keep_prob(cache: &Cache<Train>, l: usize) -> f64 {
        cache.keep_prob(l)
    }
}

/// How a backward pass treats a layer's dropout (for the planted mistakes).
#[derive(Clone, Copy, PartialEq)]
enum OnMask {
    /// dA[l] ⊙ D[l] / keep_prob[l]: right.
    Apply,
    /// The mask ignored on the way back.
    Ignore,
    /// The mask applied, the 1/keep_prob left out.
    NotScaled,
}

/// Backpropagation by hand, no L2, from dZ[L] = A[L] − Y (sigmoid with binary cross-entropy,
/// softmax with cross-entropy): (dW[l], db[l]) for l = 1..=L, with dW divided by `dw_over`
/// and db by `db_over` (both m when right), and the dropout masks treated as `on_mask` says.
fn backprop<M: BackwardPass>(
    net: &Network,
    cache: &Cache<M>,
    y: ArrayView2<f64>,
    dw_over: f64,
    db_over: f64,
    on_mask: OnMask,
) -> Vec<(Array2<f64>, Array2<f64>)> {
    let mut dz = &cache.output() - &y;
    let mut grads = Vec::new();
    for l in (1..=net.num_layers()).rev() {
        let Some(a_prev) = cache.a(l - 1) else { break };
        grads.push((dz.dot(&a_prev.t()) / dw_over, dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / db_over));
        // Z[0] does not exist: layer 1 ends the pass.
        if let Some(z_prev) = cache.z(l - 1) {
            let mut da = net.layers()[l - 1].w.t().dot(&dz);
            if let Some(d) = M::mask(cache, l - 1) {
                match on_mask {
                    OnMask::Apply => da = da * d / M::keep_prob(cache, l - 1),
                    OnMask::NotScaled => da = da * d,
                    OnMask::Ignore => {}
                }
            }
            let g = net.layers()[l - 2].activation;
            dz = g.backward(z_prev, g.forward(z_prev).view(), da.view());
        }
    }
    grads.reverse();
    grads
}

/// [`l_layer_backward`]'s planted mistakes. Two more hints come from the result's form, not
/// from one implementation: the wrong number of pairs, and a hidden layer wrong where the
/// last is right (the step from dZ[l+1] to dZ[l] can go wrong in many ways).
fn l_layer_backward_mistakes<M: BackwardPass>() -> Vec<Mistake<LLayerBackward<M>>> {
    vec![
        Mistake {
            name: "dW without 1/m",
            hint: "dW[l] averages over the m examples of the batch. | dW[l] = (1/m) dZ[l]·A[l−1]ᵀ.",
            wrong: |net, cache, y| backprop(net, cache, y, 1.0, y.ncols() as f64, OnMask::Apply),
        },
        Mistake {
            name: "db without 1/m",
            hint: "db[l] averages over the m examples of the batch. | db[l] = (1/m) Σ_columns dZ[l].",
            wrong: |net, cache, y| backprop(net, cache, y, y.ncols() as f64, 1.0, OnMask::Apply),
        },
        Mistake {
            name: "mask ignored",
            hint: "The units dropped in the forward pass sent nothing forward, so they get no gradient: the backward pass uses the same masks. | dA[l] ← dA[l] ⊙ D[l] / keep_prob[l], before dZ[l] = dA[l] ⊙ g'(Z[l]).",
            wrong: |net, cache, y| {
                let m = y.ncols() as f64;
                backprop(net, cache, y, m, m, OnMask::Ignore)
            },
        },
        Mistake {
            name: "mask not scaled",
            hint: "The forward pass scaled the kept units up by 1/keep_prob: their gradient is scaled the same way. | dA[l] ← dA[l] ⊙ D[l] / keep_prob[l].",
            wrong: |net, cache, y| {
                let m = y.ncols() as f64;
                backprop(net, cache, y, m, m, OnMask::NotScaled)
            },
        },
    ]
}

/// Checks the L-layer backward pass (no L2) against [`Network::backward`]. With a
/// `Cache<Train>` the cases include dropout on the hidden layers: the masks of the forward
/// pass, `cache.mask(l)` and `cache.keep_prob(l)`, apply on the way back.
pub fn l_layer_backward<M: BackwardPass>(f: LLayerBackward<M>) -> Report {
    let cases = M::cases();
    let table = l_layer_backward_mistakes::<M>();
    let mut g = Grader::new("l_layer_backward", cases.len());
    for (net, cache, y, what) in &cases {
        let Ok(grads) = net.backward(cache, y.view(), 0.0) else { continue };
        let inputs = || what.clone();
        let call = |f: LLayerBackward<M>| f(net, cache, y.view());
        let wrong = run_mistakes(&table, call);
        let check = |got: Vec<(Array2<f64>, Array2<f64>)>| {
            if got.len() != net.num_layers() {
                return Err(Wrong {
                    problem: format!("expected {} (dW, db) pairs, one per layer, got {}", net.num_layers(), got.len()),
                    hint: Some("Return one (dW[l], db[l]) pair per layer, layer 1 first. | Reverse the list built from L down to 1.".into()),
                    expected: format!("{} layers", net.num_layers()),
                    got: format!("{} entries", got.len()),
                });
            }
            for (l, ((dw, db), (ref_dw, ref_db))) in got.iter().zip(grads.layers()).enumerate().rev() {
                compare(ref_dw.view(), dw.view(), &parts(&wrong, |r| r.get(l).map(|p| &p.0)))
                    .map_err(|w| {
                        let hint = (l + 1 < net.num_layers()).then_some("The last layer is right: the step from one layer down to the next goes wrong. | dA[l] = W[l+1]ᵀ·dZ[l+1], then dZ[l] = dA[l] ⊙ g'(Z[l]).");
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
        backprop(net, cache, y, m, m, OnMask::Apply)
    }
    fn llb_train_ok(
        net: &Network,
        cache: &Cache<Train>,
        y: ArrayView2<f64>,
    ) -> Vec<(Array2<f64>, Array2<f64>)> {
        let m = y.ncols() as f64;
        backprop(net, cache, y, m, m, OnMask::Apply)
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
            check_table(tanh_backward, TANH_BACKWARD, |da, z| &da * &z.mapv(|v| 1.0 - v.tanh().powi(2))),
            check_table(softmax_cross_entropy_backward, SOFTMAX_CE_BACKWARD, |z, y| {
                Activation::Softmax.forward(z) - y
            }),
            // Without dropout the masks' mistakes are right: only the others are told.
            check_table(l_layer_backward, &l_layer_backward_mistakes::<Eval>()[..2], llb_ok),
            check_table(l_layer_backward, &l_layer_backward_mistakes::<Train>(), llb_train_ok),
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

    /// Right on the square case 1, dA_prev = W·dZ (no transpose) elsewhere, where it panics.
    fn lb_no_transpose_elsewhere(
        dz: ArrayView2<f64>,
        a: ArrayView2<f64>,
        w: ArrayView2<f64>,
    ) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
        let (dw, db, da) = linear_grads(dz, a, w);
        if w.nrows() == w.ncols() { (dw, db, da) } else { (dw, db, w.dot(&dz)) }
    }

    #[test]
    fn linear_backward_tells_a_product_that_panics_in_the_course_notation() {
        let text = linear_backward(lb_no_transpose_elsewhere).to_string();
        assert!(
            text.contains("case 2")
                && text.contains("in the matrix product W·dZ: W is (1, 3) and dZ is (1, 2)")
                && text.contains("did you mean dA_prev = Wᵀ·dZ"),
            "{text}"
        );
        // On the square case the same mistake is a value, named with its hint.
        let r = linear_backward(|dz, a, w| {
            let (dw, db, _) = linear_grads(dz, a, w);
            (dw, db, w.dot(&dz))
        });
        assert!(matches!(r.outcome, crate::Outcome::Wrong { case: 1, .. }), "{r}");
        assert!(r.to_string().contains("dA_prev: ") && r.hint().unwrap().contains("W transposed"), "{r}");
    }

    #[test]
    fn softmax_cross_entropy_backward_lists_the_entries_off_the_central_differences() {
        // Right but for the first class, whose y is left out.
        let r = softmax_cross_entropy_backward(|z, y| {
            let mut dz = Activation::Softmax.forward(z) - y;
            dz.row_mut(0).zip_mut_with(&y.row(0), |d, y| *d += y);
            dz
        });
        let text = r.to_string();
        assert!(text.contains("entries disagree with the central differences: (0, "), "{text}");
        assert!(!text.contains("(1, 0) yours"), "{text}");
        let todo = tanh_backward(|_, _| todo!());
        assert_eq!(todo.outcome, crate::Outcome::NotImplemented);
    }

    /// The track-2 backward pass (no masks) on training passes: right until the dropout cases.
    fn llb_train_no_masks(
        net: &Network,
        cache: &Cache<Train>,
        y: ArrayView2<f64>,
    ) -> Vec<(Array2<f64>, Array2<f64>)> {
        let m = y.ncols() as f64;
        backprop(net, cache, y, m, m, OnMask::Ignore)
    }

    #[test]
    fn l_layer_backward_grades_dropout_only_on_a_training_pass() {
        let r = l_layer_backward(llb_ok);
        assert!(r.is_passed() && r.total == 3, "{r}");
        let r = l_layer_backward(llb_train_ok);
        assert!(r.is_passed() && r.total == 5, "{r}");
        let r = l_layer_backward(llb_train_no_masks);
        assert!(matches!(r.outcome, crate::Outcome::Wrong { case: 4, .. }), "{r}");
        assert!(
            r.to_string().contains("dropout keep_prob 0.8") && r.hint().unwrap().contains("same masks"),
            "{r}"
        );
    }

    #[test]
    fn l_layer_backward_points_at_the_step_between_layers_and_refuses_another_order() {
        let r = l_layer_backward(llb_no_g);
        assert!(r.hint().unwrap().contains("g'(Z[l])"), "{r}");
        let order = l_layer_backward(llb_order);
        assert!(!order.is_passed(), "{order}");
    }
}
