//! Exercise 1, forward propagation: Z = W·A + b, the activations, and the L-layer pass.

use crate::grade::{Grader, Mistake, Wrong, attempt, compare, parts, random, rng, run_mistakes, shape};
use crate::report::Report;
use ann_core::{Activation, Init, Network, Task};
use ndarray::{Array2, ArrayView2, Axis, array};

/// Z[l] = W[l]·A[l−1] + b[l]: `fn linear_forward(w, a_prev, b) -> z`.
pub type LinearForward = fn(ArrayView2<f64>, ArrayView2<f64>, ArrayView2<f64>) -> Array2<f64>;
/// A = g(Z), entry by entry (or column by column for softmax): `fn g(z) -> a`.
pub type ActivationForward = fn(ArrayView2<f64>) -> Array2<f64>;
/// The L-layer forward pass: `fn l_layer_forward(net, x) -> [(Z[1], A[1]), ..., (Z[L], A[L])]`.
pub type LLayerForward = fn(&Network, ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)>;

/// The course's `linear_forward_test_case` (seed 1): Z = [[3.26295337, −1.23429987]].
pub(crate) fn course_linear_case() -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    let w = array![[1.74481176421648, -0.7612069008951028, 0.31903909605709857]];
    let a = array![
        [1.6243453636632417, -0.6117564136500754],
        [-0.5281717522634557, -1.0729686221561705],
        [0.8654076293246785, -2.3015386968802827]
    ];
    (w, a, array![[-0.2493703754774101]])
}

/// [`linear_forward`]'s planted mistakes. Case 1 is square (W, A and Z all (3, 3)), so that a
/// product in the wrong order, or a bias turned into a row, gives a wrong value the grader
/// names rather than a panic.
const LINEAR_FORWARD: &[Mistake<LinearForward>] = &[
    Mistake {
        name: "no bias", hint: "The bias is missing. | Z = W·A_prev + b.", wrong: |w, a, _| w.dot(&a)
    },
    Mistake {
        name: "bias subtracted",
        hint: "The bias is subtracted. | Z = W·A_prev + b.",
        wrong: |w, a, b| w.dot(&a) - b,
    },
    Mistake {
        name: "sum of b",
        hint: "Each unit has its own bias: unit i adds b_i, not the sum of all the biases. | Z = W·A_prev + b, b a column (n_l, 1) added to every column.",
        wrong: |w, a, b| w.dot(&a) + b.sum(),
    },
    Mistake {
        name: "A·W",
        hint: "The product is in the wrong order: a matrix product does not commute. | Z = W·A_prev: W (n_l, n_(l−1)) on the left, A_prev (n_(l−1), m) on the right.",
        wrong: |w, a, b| a.dot(&w) + b,
    },
    Mistake {
        name: "row bias",
        hint: "The bias is a column (n_l, 1), one entry per unit (row of Z), added to every example (column); as a row it was added per example instead. | Z = W·A_prev + b with b of shape (n_l, 1): keep b as it is, no transpose.",
        wrong: |w, a, b| w.dot(&a) + b.t(),
    },
];

/// The products of [`linear_forward`].
const LINEAR_FORWARD_PRODUCTS: &[crate::grade::Product] =
    &[("Z = W·A_prev, (n_l, n_(l−1))·(n_(l−1), m)", "W", "A_prev")];

/// Checks Z = W·A + b on a square case, the course's case and random shapes.
pub fn linear_forward(f: LinearForward) -> Report {
    let mut r = rng(11);
    let mut cases = vec![(random(3, 3, 1.0, &mut r), random(3, 3, 2.0, &mut r), random(3, 1, 1.0, &mut r))];
    cases.push(course_linear_case());
    for &(n, k, m) in &[(3, 4, 5), (1, 2, 7), (6, 3, 1)] {
        cases.push((random(n, k, 1.0, &mut r), random(k, m, 2.0, &mut r), random(n, 1, 1.0, &mut r)));
    }
    let mut g = Grader::new("linear_forward", cases.len()).products(LINEAR_FORWARD_PRODUCTS);
    for (w, a, b) in &cases {
        let expected = w.dot(a) + b;
        let call = |f: LinearForward| f(w.view(), a.view(), b.view());
        let inputs = || format!("W {}, A_prev {}, b {}", shape(w.view()), shape(a.view()), shape(b.view()));
        g.explain(
            vec![("W", w.dim()), ("A_prev", a.dim()), ("b", b.dim())],
            Some(format!(
                "In Z = W·A_prev + b, W·A_prev is {} and b must stay a column {}: one bias per unit, broadcast over \
                 the m columns. A row (1, n_l) (b transposed) does not broadcast.",
                shape(expected.view()),
                shape(b.view())
            )),
        );
        if let Err(report) = g.array_case(inputs, expected.view(), LINEAR_FORWARD, call, f) {
            return report;
        }
    }
    g.finish()
}

/// Inputs for the activations: small and saturating values, several columns.
fn activation_cases() -> Vec<Array2<f64>> {
    let mut r = rng(12);
    vec![
        array![[-2.0, 0.0, 3.0], [0.5, -0.1, 1.0]],
        random(4, 6, 3.0, &mut r),
        array![[800.0, -800.0], [-40.0, 40.0], [0.0, 1e-3]],
    ]
}

fn grade_activation(
    name: &'static str,
    f: ActivationForward,
    activation: Activation,
    table: &[Mistake<ActivationForward>],
) -> Report {
    let cases = activation_cases();
    let mut g = Grader::new(name, cases.len());
    for z in &cases {
        let expected = activation.forward(z.view());
        let inputs = || format!("Z {}", shape(z.view()));
        if let Err(report) = g.array_case(inputs, expected.view(), table, |f| f(z.view()), f) {
            return report;
        }
    }
    g.finish()
}

/// [`relu`]'s planted mistakes.
const RELU: &[Mistake<ActivationForward>] = &[
    Mistake {
        name: "clip",
        hint: "ReLU passes positive values unchanged; it has no upper limit. | ReLU(z) = max(0, z), not a clip to [0, 1].",
        wrong: |z| z.mapv(|v| v.clamp(0.0, 1.0)),
    },
    Mistake {
        name: "derivative",
        hint: "That is ReLU's derivative (0 or 1), not ReLU itself. | ReLU(z) = max(0, z).",
        wrong: |z| z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 }),
    },
    Mistake {
        name: "absolute value",
        hint: "ReLU sets negative values to 0, it does not flip their sign. | ReLU(z) = max(0, z), not |z|.",
        wrong: |z| z.mapv(f64::abs),
    },
];

/// Checks g(z) = max(0, z).
pub fn relu(f: ActivationForward) -> Report {
    grade_activation("relu", f, Activation::Relu, RELU)
}

/// [`sigmoid`]'s planted mistakes.
const SIGMOID: &[Mistake<ActivationForward>] = &[
    Mistake {
        name: "σ(−z)",
        hint: "That is σ(−z): the sign in the exponent is wrong. | σ(z) = 1 / (1 + e^(−z)).",
        wrong: |z| z.mapv(|v| 1.0 / (1.0 + v.exp())),
    },
    Mistake {
        name: "e^z / (1 + e^z)",
        hint: "e^z / (1 + e^z) overflows for large z (inf / inf = NaN): use a form whose exponent is never positive. | 1 / (1 + e^(−z)) for z ≥ 0, e^z / (1 + e^z) for z < 0.",
        wrong: |z| z.mapv(|v| v.exp() / (1.0 + v.exp())),
    },
    Mistake {
        name: "1 − e^(−z)",
        hint: "The sign in the denominator is wrong. | σ(z) = 1 / (1 + e^(−z)).",
        wrong: |z| z.mapv(|v| 1.0 / (1.0 - (-v).exp())),
    },
];

/// Checks σ(z) = 1 / (1 + e^(−z)), finite for large |z|.
pub fn sigmoid(f: ActivationForward) -> Report {
    grade_activation("sigmoid", f, Activation::Sigmoid, SIGMOID)
}

/// [`tanh`]'s planted mistakes.
const TANH: &[Mistake<ActivationForward>] = &[
    Mistake {
        name: "derivative",
        hint: "That is tanh's derivative, not tanh. | tanh'(z) = 1 − tanh²(z); the function is tanh(z).",
        wrong: |z| z.mapv(|v| 1.0 - v.tanh().powi(2)),
    },
    Mistake {
        name: "sigmoid",
        hint: "That is the sigmoid, whose values are in (0, 1); tanh's are in (−1, 1). | tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)) = 2σ(2z) − 1.",
        wrong: |z| z.mapv(|v| 1.0 / (1.0 + (-v).exp())),
    },
    Mistake {
        name: "formula with e^z",
        hint: "The formula with e^z overflows for large |z| (inf / inf = NaN). | Rust's f64 has a stable tanh method.",
        wrong: |z| z.mapv(|v| (v.exp() - (-v).exp()) / (v.exp() + (-v).exp())),
    },
];

/// Checks tanh(z).
pub fn tanh(f: ActivationForward) -> Report {
    grade_activation("tanh", f, Activation::Tanh, TANH)
}

/// [`softmax`]'s planted mistakes.
const SOFTMAX: &[Mistake<ActivationForward>] = &[
    Mistake {
        name: "over rows",
        hint: "Each column (one example) must sum to 1: the softmax runs over the classes of one example, not over a row. | a_ij = e^(z_ij) / Σ_k e^(z_kj), the sum over axis 0.",
        wrong: |z| Activation::Softmax.forward(z.t()).reversed_axes(),
    },
    Mistake {
        name: "over the matrix",
        hint: "Each example (column) is normalized on its own, not by the whole batch. | a_ij = e^(z_ij) / Σ_k e^(z_kj), one sum per column.",
        wrong: |z| {
            let exp = z.mapv(f64::exp);
            &exp / exp.sum()
        },
    },
    Mistake {
        name: "row max subtracted",
        hint: "Only a constant shared by one example's scores cancels in the division: subtract the max of each column (one example, over its classes), not of each row. | a_i = e^(z_i − max_k z_k) / Σ_j e^(z_j − max_k z_k), the max over axis 0 of that column.",
        wrong: |z| {
            let max = z.fold_axis(Axis(1), f64::NEG_INFINITY, |m, &v| m.max(v)).insert_axis(Axis(1));
            let exp = (&z - &max).mapv(f64::exp);
            &exp / &exp.sum_axis(Axis(0))
        },
    },
    Mistake {
        name: "no max subtracted",
        hint: "e^800 overflows to inf, and inf / inf is NaN: shift the scores before exponentiating. | Subtract each column's max before e^z: a_i = e^(z_i − max z) / Σ_j e^(z_j − max z).",
        wrong: |z| {
            let exp = z.mapv(f64::exp);
            &exp / &exp.sum_axis(Axis(0))
        },
    },
];

/// Checks softmax over each column: a_i = e^(z_i − max z) / Σ_j e^(z_j − max z).
pub fn softmax(f: ActivationForward) -> Report {
    grade_activation("softmax", f, Activation::Softmax, SOFTMAX)
}

/// The right forward pass, with what it returns for each layer l (0-based) replaced by
/// `wrong(net, l, A[l−1], Z[l], A[l])`: a mistake made in every layer, on the right A[l−1].
fn in_every_layer(
    net: &Network,
    x: ArrayView2<f64>,
    wrong: impl Fn(&Network, usize, ArrayView2<f64>, Array2<f64>, Array2<f64>) -> (Array2<f64>, Array2<f64>),
) -> Vec<(Array2<f64>, Array2<f64>)> {
    let mut a_prev = x.to_owned();
    let mut out = Vec::new();
    for (l, layer) in net.layers().iter().enumerate() {
        let z = layer.w.dot(&a_prev) + &layer.b;
        let a = layer.activation.forward(z.view());
        out.push(wrong(net, l, a_prev.view(), z, a.clone()));
        a_prev = a;
    }
    out
}

/// [`l_layer_forward`]'s planted mistakes. A learner who returns the wrong number of pairs is
/// told so by the grader itself: that is a property of the result, not one implementation's.
const L_LAYER_FORWARD: &[Mistake<LLayerForward>] = &[
    Mistake {
        name: "no bias",
        hint: "The bias b[l] is missing. | Z[l] = W[l]·A[l−1] + b[l].",
        wrong: |net, x| in_every_layer(net, x, |net, l, a_prev, _, a| (net.layers()[l].w.dot(&a_prev), a)),
    },
    Mistake {
        name: "no activation",
        hint: "A layer's output is its activation of Z[l], not Z[l] itself. | A[l] = g[l](Z[l]), with the layer's own g[l].",
        wrong: |net, x| in_every_layer(net, x, |_, _, _, z, _| (z.clone(), z)),
    },
    Mistake {
        name: "hidden activation at the output",
        hint: "Every layer has its own activation: the output layer's is not the hidden layers'. | A[l] = g[l](Z[l]) with g[l] = `net.layers()[l].activation`.",
        wrong: |net, x| {
            in_every_layer(net, x, |net, _, _, z, _| {
                let a = net.layers()[0].activation.forward(z.view());
                (z, a)
            })
        },
    },
];

/// Checks the L-layer forward pass against [`Network::forward`], layer by layer.
pub fn l_layer_forward(f: LLayerForward) -> Report {
    let nets = [
        (Network::new(&[3, 4, 1], Activation::Relu, Task::Binary, Init::He, 1), 5),
        (Network::new(&[2, 5, 4, 3], Activation::Tanh, Task::MultiClass, Init::Xavier, 2), 7),
        (Network::new(&[4, 6, 6, 6, 1], Activation::Relu, Task::Binary, Init::He, 3), 3),
    ];
    let mut r = rng(13);
    let cases: Vec<(Network, Array2<f64>)> = nets
        .into_iter()
        .filter_map(|(net, m)| {
            net.ok().map(|mut net| {
                // Non-zero biases, so that a missing b shows.
                for layer in net.layers_mut() {
                    layer.b = random(layer.b.nrows(), 1, 0.5, &mut r);
                }
                let x = random(net.input_size(), m, 1.5, &mut r);
                (net, x)
            })
        })
        .collect();
    let mut g = Grader::new("l_layer_forward", cases.len());
    for (net, x) in &cases {
        let inputs = || format!("sizes {:?}, X {}", net.sizes(), shape(x.view()));
        let wrong = run_mistakes(L_LAYER_FORWARD, |f| f(net, x.view()));
        let check = |got: Vec<(Array2<f64>, Array2<f64>)>| {
            let cache = net.forward(x.view()).map_err(|e| Wrong {
                problem: format!("the reference failed: {e}"),
                hint: None,
                expected: String::new(),
                got: String::new(),
            })?;
            if got.len() != net.num_layers() {
                return Err(Wrong {
                    problem: format!(
                        "expected {} (Z, A) pairs, one per layer, got {}",
                        net.num_layers(),
                        got.len()
                    ),
                    hint: Some("Return one (Z[l], A[l]) pair per layer, layer 1 first. | [(Z[1], A[1]), ..., (Z[L], A[L])].".into()),
                    expected: format!("{} layers", net.num_layers()),
                    got: format!("{} entries", got.len()),
                });
            }
            for (l, (z, a)) in got.iter().enumerate() {
                let (ez, ea) = (cache.z(l + 1).unwrap_or(x.view()), cache.a(l + 1).unwrap_or(x.view()));
                compare(ez, z.view(), &parts(&wrong, |r| r.get(l).map(|p| &p.0)))
                    .map_err(|w| prefix(w, &format!("Z[{}]", l + 1)))?;
                compare(ea, a.view(), &parts(&wrong, |r| r.get(l).map(|p| &p.1)))
                    .map_err(|w| prefix(w, &format!("A[{}]", l + 1)))?;
            }
            Ok(())
        };
        if let Err(report) = g.case(inputs, attempt(|| f(net, x.view())), check) {
            return report;
        }
    }
    g.finish()
}

/// Names the array a mismatch is in.
pub(crate) fn prefix(mut w: Wrong, what: &str) -> Wrong {
    w.problem = format!("{what}: {}", w.problem);
    w
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::tests::check_table;

    fn linear_ok(w: ArrayView2<f64>, a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        w.dot(&a) + b
    }
    fn forward_ok(net: &Network, x: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        let mut a = x.to_owned();
        let mut out = Vec::new();
        for layer in net.layers() {
            let z = layer.w.dot(&a) + &layer.b;
            a = layer.activation.forward(z.view());
            out.push((z, a.clone()));
        }
        out
    }

    /// This file's graders, each with a reference implementation and its planted mistakes.
    pub(crate) fn tables() -> Vec<String> {
        [
            check_table(linear_forward, LINEAR_FORWARD, linear_ok),
            check_table(relu, RELU, |z| z.mapv(|v| v.max(0.0))),
            check_table(sigmoid, SIGMOID, |z| z.mapv(ann_core::sigmoid)),
            check_table(tanh, TANH, |z| z.mapv(f64::tanh)),
            check_table(softmax, SOFTMAX, |z| Activation::Softmax.forward(z)),
            check_table(l_layer_forward, L_LAYER_FORWARD, forward_ok),
        ]
        .concat()
    }

    #[test]
    fn linear_forward_counts_cases_sees_a_transposed_shape_and_a_todo() {
        let r = linear_forward(linear_ok);
        assert_eq!((r.passed, r.total), (5, 5));
        let transposed = linear_forward(|w, a, b| (w.dot(&a) + b).reversed_axes());
        assert!(transposed.hint().unwrap().contains("transposed"), "{transposed}");
        let todo = linear_forward(|_, _, _| todo!("Z = W·A + b"));
        assert_eq!(todo.outcome, crate::Outcome::NotImplemented, "{todo}");
        assert!(todo.to_string().contains("not implemented yet"));
    }

    /// Right on the square case 1 (a mistake would give a wrong value there), the product in
    /// the wrong order elsewhere, where it panics.
    fn swapped_elsewhere(w: ArrayView2<f64>, a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        if w.nrows() == w.ncols() { linear_ok(w, a, b) } else { a.dot(&w) + b }
    }
    /// Right on the square case 1, b as a row elsewhere.
    fn row_bias_elsewhere(w: ArrayView2<f64>, a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        if w.nrows() == w.ncols() { linear_ok(w, a, b) } else { w.dot(&a) + b.t() }
    }

    #[test]
    fn linear_forward_names_a_swapped_product_and_a_row_bias_by_value_and_by_panic() {
        // Case 1 is square: the swapped product gives a value, and its hint, concept first.
        let r = linear_forward(|w, a, b| a.dot(&w) + b);
        assert!(matches!(r.outcome, crate::Outcome::Wrong { case: 1, .. }), "{r}");
        let text = r.to_string();
        assert!(text.contains("wrong order") && !text.contains("on the left"), "{text}");
        assert!(text.contains("check::linear_forward(linear_forward).more()"), "{text}");
        assert!(r.more().to_string().contains("W (n_l, n_(l−1)) on the left"));
        // Elsewhere it panics: the report names the product and the shapes in the course's terms.
        let text = linear_forward(swapped_elsewhere).to_string();
        assert!(
            text.contains("case 2")
                && text.contains("in the matrix product A_prev·W: A_prev is (3, 2) and W is (1, 3)")
                && text.contains("did you mean Z = W·A_prev"),
            "{text}"
        );
        let r = linear_forward(|w, a, b| w.dot(&a) + b.t());
        assert!(r.hint().unwrap().contains("The bias is a column"), "{r}");
        let text = linear_forward(row_bias_elsewhere).to_string();
        assert!(
            text.contains("case 3") && text.contains("W·A_prev is (3, 5) and b must stay a column (3, 1)"),
            "{text}"
        );
    }

    fn forward_last_only(net: &Network, x: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        forward_ok(net, x).into_iter().last().into_iter().collect()
    }
    /// A realistic missing bias: every later layer is fed the wrong A too.
    fn forward_no_bias(net: &Network, x: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        let mut a = x.to_owned();
        let mut out = Vec::new();
        for layer in net.layers() {
            let z = layer.w.dot(&a);
            a = layer.activation.forward(z.view());
            out.push((z, a.clone()));
        }
        out
    }
    /// Right but for the output layer, which has no activation.
    fn forward_linear_output(net: &Network, x: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        let mut out = forward_ok(net, x);
        if let Some((z, a)) = out.last_mut() {
            *a = z.clone();
        }
        out
    }

    #[test]
    fn l_layer_forward_names_a_mistake_in_whichever_layer_it_is_made_and_a_missing_layer() {
        let r = l_layer_forward(forward_last_only);
        assert!(r.hint().unwrap().contains("layer 1 first") && r.to_string().contains("pairs"), "{r}");
        let r = l_layer_forward(forward_no_bias);
        assert!(r.hint().unwrap().contains("bias") && r.to_string().contains("Z[1]"), "{r}");
        let r = l_layer_forward(forward_linear_output);
        assert!(r.hint().unwrap().contains("g[l](Z[l])") && r.to_string().contains("A[2]"), "{r}");
    }
}
