//! Exercise 1, forward propagation: Z = W·A + b, the activations, and the L-layer pass.

use crate::grade::{Grader, attempt, compare, random, rng, shape};
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

/// Checks Z = W·A + b on the course's case and on random shapes.
pub fn linear_forward(f: LinearForward) -> Report {
    let mut cases = vec![course_linear_case()];
    let mut r = rng(11);
    for &(n, k, m) in &[(3, 4, 5), (1, 2, 7), (6, 3, 1)] {
        cases.push((random(n, k, 1.0, &mut r), random(k, m, 2.0, &mut r), random(n, 1, 1.0, &mut r)));
    }
    let mut g = Grader::new("linear_forward", cases.len());
    for (w, a, b) in &cases {
        let expected = w.dot(a) + b;
        let mistakes = [
            (w.dot(a), "The bias is missing: Z = W·A + b."),
            (w.dot(a) - b, "The bias is subtracted: Z = W·A + b."),
            (w.dot(a) + b.sum(), "Add b to each row (its own b_i), not the sum of b."),
        ];
        let inputs = || format!("W {}, A {}, b {}", shape(w.view()), shape(a.view()), shape(b.view()));
        let result = attempt(|| f(w.view(), a.view(), b.view()));
        if let Err(report) = g.case(inputs, result, |got| compare(expected.view(), got.view(), &mistakes)) {
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
    mistakes: impl Fn(ArrayView2<f64>) -> Vec<(Array2<f64>, &'static str)>,
) -> Report {
    let cases = activation_cases();
    let mut g = Grader::new(name, cases.len());
    for z in &cases {
        let expected = activation.forward(z.view());
        let inputs = || format!("Z {}", shape(z.view()));
        let result = attempt(|| f(z.view()));
        let wrong = mistakes(z.view());
        if let Err(report) = g.case(inputs, result, |got| compare(expected.view(), got.view(), &wrong)) {
            return report;
        }
    }
    g.finish()
}

/// Checks g(z) = max(0, z).
pub fn relu(f: ActivationForward) -> Report {
    grade_activation("relu", f, Activation::Relu, |z| {
        vec![
            (
                z.mapv(|v| v.clamp(0.0, 1.0)),
                "ReLU passes positive values unchanged: max(0, z), not a clip to [0, 1].",
            ),
            (
                z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 }),
                "That is ReLU's derivative; the function is max(0, z).",
            ),
            (z.mapv(f64::abs), "ReLU sets negative values to 0: max(0, z), not |z|."),
        ]
    })
}

/// Checks σ(z) = 1 / (1 + e^(−z)), finite for large |z|.
pub fn sigmoid(f: ActivationForward) -> Report {
    grade_activation("sigmoid", f, Activation::Sigmoid, |z| {
        vec![
            (z.mapv(|v| 1.0 / (1.0 + v.exp())), "That is σ(−z): the exponent is e^(−z)."),
            (
                z.mapv(|v| v.exp() / (1.0 + v.exp())),
                "e^z / (1 + e^z) overflows for large z (inf / inf = NaN): use 1 / (1 + e^(−z)) for z ≥ 0.",
            ),
            (z.mapv(|v| 1.0 / (1.0 - (-v).exp())), "The denominator is 1 + e^(−z)."),
        ]
    })
}

/// Checks tanh(z).
pub fn tanh(f: ActivationForward) -> Report {
    grade_activation("tanh", f, Activation::Tanh, |z| {
        vec![
            (z.mapv(|v| 1.0 - v.tanh().powi(2)), "That is tanh's derivative, 1 − tanh²(z)."),
            (
                z.mapv(|v| 1.0 / (1.0 + (-v).exp())),
                "That is the sigmoid: tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)) = 2σ(2z) − 1.",
            ),
            (
                z.mapv(|v| (v.exp() - (-v).exp()) / (v.exp() + (-v).exp())),
                "The formula with e^z overflows for large |z|: use f64::tanh.",
            ),
        ]
    })
}

/// Checks softmax over each column: a_i = e^(z_i − max z) / Σ_j e^(z_j − max z).
pub fn softmax(f: ActivationForward) -> Report {
    grade_activation("softmax", f, Activation::Softmax, |z| {
        let exp = z.mapv(f64::exp);
        let rows = Activation::Softmax.forward(z.t()).reversed_axes();
        vec![
            (rows, "Each column (one example) must sum to 1: normalize over axis 0, not over a row."),
            (&exp / exp.sum(), "Normalize each column on its own, not by the sum of the whole matrix."),
            (
                &exp / &exp.sum_axis(Axis(0)),
                "Subtract each column's max before e^z: e^800 overflows to inf, and inf / inf is NaN.",
            ),
        ]
    })
}

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
        let result = attempt(|| f(net, x.view()));
        let check = |got: Vec<(Array2<f64>, Array2<f64>)>| {
            let cache = net.forward(x.view()).map_err(|e| crate::grade::Wrong {
                problem: format!("the reference failed: {e}"),
                hint: None,
                expected: String::new(),
                got: String::new(),
            })?;
            if got.len() != net.num_layers() {
                return Err(crate::grade::Wrong {
                    problem: format!(
                        "expected {} (Z, A) pairs, one per layer, got {}",
                        net.num_layers(),
                        got.len()
                    ),
                    hint: Some("Return (Z[l], A[l]) for l = 1..=L, layer 1 first.".into()),
                    expected: format!("{} layers", net.num_layers()),
                    got: format!("{} entries", got.len()),
                });
            }
            for (l, (z, a)) in got.iter().enumerate() {
                let (ez, ea) = (cache.z(l + 1).unwrap_or(x.view()), cache.a(l + 1).unwrap_or(x.view()));
                let act = net.layers()[l].activation;
                let without_bias = net.layers()[l].w.dot(&cache.a(l).unwrap_or(x.view()));
                compare(
                    ez,
                    z.view(),
                    &[(without_bias, "The bias b[l] is missing in Z[l] = W[l]·A[l−1] + b[l].")],
                )
                .map_err(|w| prefix(w, &format!("Z[{}]", l + 1)))?;
                let mistakes = [(z.clone(), "A[l] = g[l](Z[l]): apply the layer's activation to Z[l].")];
                let hidden = net.layers()[0].activation;
                let mut wrong: Vec<(Array2<f64>, &str)> = mistakes.to_vec();
                if act != hidden {
                    wrong.push((
                        hidden.forward(ez),
                        "The output layer has its own activation (`net.layers()[l].activation`).",
                    ));
                }
                compare(ea, a.view(), &wrong).map_err(|w| prefix(w, &format!("A[{}]", l + 1)))?;
            }
            Ok(())
        };
        if let Err(report) = g.case(inputs, result, check) {
            return report;
        }
    }
    g.finish()
}

/// Names the array a mismatch is in.
pub(crate) fn prefix(mut w: crate::grade::Wrong, what: &str) -> crate::grade::Wrong {
    w.problem = format!("{what}: {}", w.problem);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good_linear(w: ArrayView2<f64>, a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        w.dot(&a) + b
    }
    fn no_bias(w: ArrayView2<f64>, a: ArrayView2<f64>, _b: ArrayView2<f64>) -> Array2<f64> {
        w.dot(&a)
    }
    fn transposed(w: ArrayView2<f64>, a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        (w.dot(&a) + b).reversed_axes()
    }
    fn bias_sum(w: ArrayView2<f64>, a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        w.dot(&a) + b.sum()
    }
    fn not_yet(_: ArrayView2<f64>, _: ArrayView2<f64>, _: ArrayView2<f64>) -> Array2<f64> {
        todo!("Z = W·A + b")
    }

    #[test]
    fn linear_forward_accepts_the_reference_and_names_typical_mistakes() {
        let r = linear_forward(good_linear);
        assert!(r.is_passed(), "{r}");
        assert_eq!((r.passed, r.total), (4, 4));
        assert!(linear_forward(no_bias).hint().unwrap().contains("bias is missing"));
        assert!(linear_forward(transposed).hint().unwrap().contains("transposed"));
        assert!(linear_forward(bias_sum).hint().unwrap().contains("its own b_i"));
        let todo = linear_forward(not_yet);
        assert_eq!(todo.outcome, crate::Outcome::NotImplemented, "{todo}");
        assert!(todo.to_string().contains("not implemented yet"));
    }

    fn relu_ok(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| v.max(0.0))
    }
    fn relu_clip(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| v.clamp(0.0, 1.0))
    }
    fn relu_step(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 })
    }
    fn relu_abs(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(f64::abs)
    }

    #[test]
    fn relu_grader() {
        assert!(relu(relu_ok).is_passed());
        assert!(relu(relu_clip).hint().unwrap().contains("clip"));
        assert!(relu(relu_step).hint().unwrap().contains("derivative"));
        assert!(relu(relu_abs).hint().unwrap().contains("|z|"));
    }

    fn sigmoid_ok(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(ann_core::sigmoid)
    }
    fn sigmoid_sign(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| 1.0 / (1.0 + v.exp()))
    }
    fn sigmoid_naive(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| v.exp() / (1.0 + v.exp()))
    }
    fn sigmoid_minus(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| 1.0 / (1.0 - (-v).exp()))
    }

    #[test]
    fn sigmoid_grader() {
        assert!(sigmoid(sigmoid_ok).is_passed());
        assert!(sigmoid(sigmoid_sign).hint().unwrap().contains("σ(−z)"));
        assert!(sigmoid(sigmoid_naive).hint().unwrap().contains("overflows"));
        assert!(sigmoid(sigmoid_minus).hint().unwrap().contains("denominator"));
    }

    fn tanh_ok(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(f64::tanh)
    }
    fn tanh_deriv(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| 1.0 - v.tanh().powi(2))
    }
    fn tanh_sigmoid(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| 1.0 / (1.0 + (-v).exp()))
    }
    fn tanh_naive(z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| (v.exp() - (-v).exp()) / (v.exp() + (-v).exp()))
    }

    #[test]
    fn tanh_grader() {
        assert!(tanh(tanh_ok).is_passed());
        assert!(tanh(tanh_deriv).hint().unwrap().contains("derivative"));
        assert!(tanh(tanh_sigmoid).hint().unwrap().contains("sigmoid"));
        assert!(tanh(tanh_naive).hint().unwrap().contains("overflows"));
    }

    fn softmax_ok(z: ArrayView2<f64>) -> Array2<f64> {
        Activation::Softmax.forward(z)
    }
    fn softmax_rows(z: ArrayView2<f64>) -> Array2<f64> {
        Activation::Softmax.forward(z.t()).reversed_axes()
    }
    fn softmax_global(z: ArrayView2<f64>) -> Array2<f64> {
        let e = z.mapv(f64::exp);
        &e / e.sum()
    }
    fn softmax_naive(z: ArrayView2<f64>) -> Array2<f64> {
        let e = z.mapv(f64::exp);
        &e / &e.sum_axis(Axis(0))
    }

    #[test]
    fn softmax_grader() {
        assert!(softmax(softmax_ok).is_passed());
        assert!(softmax(softmax_rows).hint().unwrap().contains("axis 0"));
        assert!(softmax(softmax_global).hint().unwrap().contains("whole matrix"));
        assert!(softmax(softmax_naive).hint().unwrap().contains("max"));
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
    fn forward_hidden_everywhere(net: &Network, x: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        let g = net.layers()[0].activation;
        let mut a = x.to_owned();
        let mut out = Vec::new();
        for layer in net.layers() {
            let z = layer.w.dot(&a) + &layer.b;
            a = g.forward(z.view());
            out.push((z, a.clone()));
        }
        out
    }
    fn forward_no_activation(net: &Network, x: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        let mut a = x.to_owned();
        let mut out = Vec::new();
        for layer in net.layers() {
            let z = layer.w.dot(&a) + &layer.b;
            out.push((z.clone(), z.clone()));
            a = layer.activation.forward(z.view());
        }
        out
    }
    fn forward_last_only(net: &Network, x: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        forward_ok(net, x).into_iter().last().into_iter().collect()
    }

    #[test]
    fn l_layer_forward_grader() {
        let r = l_layer_forward(forward_ok);
        assert!(r.is_passed(), "{r}");
        assert!(l_layer_forward(forward_no_bias).hint().unwrap().contains("bias"));
        assert!(l_layer_forward(forward_hidden_everywhere).hint().unwrap().contains("own activation"));
        assert!(l_layer_forward(forward_no_activation).hint().unwrap().contains("g[l](Z[l])"));
        assert!(
            l_layer_forward(forward_last_only).hint().unwrap().contains("one per layer")
                || l_layer_forward(forward_last_only).to_string().contains("pairs")
        );
    }
}
