//! Exercise 3, gradient checking: the two-sided difference, the numerical gradient of every
//! parameter, the relative error, and a planted bug to find with them.

use crate::forward::prefix;
use crate::grade::{
    Attempt, Grader, Mistake, Wrong, attempt, compare_number, compare_within, parts, random, rng,
    run_mistakes, shape,
};
use crate::report::{Outcome, Report};
use ann_core::{Activation, Cache, Eval, Init, Network, Task, numerical_gradients};
use ndarray::{Array2, ArrayView2, Axis};
use rand::RngExt;

/// `fn two_sided_difference(j, theta, eps) -> (j(θ + ε) − j(θ − ε)) / 2ε`.
pub type TwoSided = fn(fn(f64) -> f64, f64, f64) -> f64;
/// `fn numerical_gradients(net, x, y, eps) -> [(dW[1], db[1]), ...]` by two-sided differences.
pub type NumericalGradients =
    fn(&Network, ArrayView2<f64>, ArrayView2<f64>, f64) -> Vec<(Array2<f64>, Array2<f64>)>;
/// `fn relative_error(a, b) -> ‖a − b‖ / (‖a‖ + ‖b‖)`.
pub type RelativeError = fn(ArrayView2<f64>, ArrayView2<f64>) -> f64;

fn cube(x: f64) -> f64 {
    x * x * x
}
fn wave(x: f64) -> f64 {
    (3.0 * x).sin() + x
}

/// A function of one variable to differentiate: (J, its formula, θ, ε).
type Probe = (fn(f64) -> f64, &'static str, f64, f64);

const ONE_SIDED: &str = "That is a one-sided difference: it leans towards one side of θ, and its error shrinks only \
    like ε. | The central difference (J(θ + ε) − J(θ − ε)) / (2ε) has error O(ε²), the one-sided (J(θ + ε) − J(θ)) / ε \
    error O(ε).";
const TINY_EPSILON: &str = "The step must be the ε you are given; a tiny one like 1e-12 is worse than none: J is \
    rounded to about 1e-16 of its size, and that rounding divided by ε swamps the difference. | Error ≈ 1e-16·|J| / ε \
    + ε²·|J‴| / 6: with ε = 1e-12 the first term is about 1e-4.";

/// [`two_sided_difference`]'s planted mistakes.
const TWO_SIDED_DIFFERENCE: &[Mistake<TwoSided>] = &[
    Mistake { name: "one-sided", hint: ONE_SIDED, wrong: |j, theta, eps| (j(theta + eps) - j(theta)) / eps },
    Mistake {
        name: "over ε",
        hint: "The two probes are 2ε apart, and the difference is divided by their distance. | (J(θ + ε) − J(θ − ε)) / (2ε).",
        wrong: |j, theta, eps| (j(theta + eps) - j(theta - eps)) / eps,
    },
    Mistake {
        name: "sign",
        hint: "The sign is reversed: a slope is (value on the right − value on the left) / distance. | (J(θ + ε) − J(θ − ε)) / (2ε).",
        wrong: |j, theta, eps| (j(theta - eps) - j(theta + eps)) / (2.0 * eps),
    },
    Mistake {
        name: "ε = 1e-12",
        hint: TINY_EPSILON,
        wrong: |j, theta, _| (j(theta + 1e-12) - j(theta - 1e-12)) / (2.0 * 1e-12),
    },
];

/// Checks the two-sided difference on a few functions of one variable.
pub fn two_sided_difference(f: TwoSided) -> Report {
    let cases: [Probe; 4] = [
        (cube, "θ³", 2.0, 1e-2),
        (wave, "sin 3θ + θ", 0.7, 1e-4),
        (f64::exp, "e^θ", -1.0, 1e-5),
        (cube, "θ³", -0.5, 0.1),
    ];
    let mut g = Grader::new("two_sided_difference", cases.len());
    for (j, name, theta, eps) in cases {
        let expected = (j(theta + eps) - j(theta - eps)) / (2.0 * eps);
        let call = |f: TwoSided| f(j, theta, eps);
        let wrong = run_mistakes(TWO_SIDED_DIFFERENCE, call);
        let inputs = || format!("J(θ) = {name}, θ = {theta}, ε = {eps}");
        if let Err(report) = g.case(inputs, attempt(|| call(f)), |got| compare_number(expected, got, &wrong))
        {
            return report;
        }
    }
    g.finish()
}

/// The network of the exercise: [3, 4, 3, 1], tanh, sigmoid output, biases not zero, with
/// 5 examples. Returns (network, X, Y).
pub fn gradcheck_case() -> (Network, Array2<f64>, Array2<f64>) {
    let mut r = rng(31);
    let mut net = Network::new(&[3, 4, 3, 1], Activation::Tanh, Task::Binary, Init::Xavier, 5)
        .expect("a valid architecture");
    for layer in net.layers_mut() {
        layer.b = random(layer.b.nrows(), 1, 0.5, &mut r);
    }
    let x = random(3, 5, 1.5, &mut r);
    let y = Array2::from_shape_fn((1, 5), |_| if r.random_bool(0.5) { 1.0 } else { 0.0 });
    (net, x, y)
}

/// Backpropagation of [`gradcheck_case`]'s network with one deliberate bug in one tensor:
/// find it with your gradient check.
pub fn buggy_backward(
    net: &Network,
    cache: &Cache<Eval>,
    y: ArrayView2<f64>,
) -> Vec<(Array2<f64>, Array2<f64>)> {
    let n = net.num_layers();
    let m = y.ncols() as f64;
    let (Some(out), true) = (cache.z(n), cache.num_layers() == n) else { return Vec::new() };
    let mut dz = cache.output().to_owned() - y;
    let _ = out;
    let mut grads = Vec::with_capacity(n);
    for l in (1..=n).rev() {
        let (Some(a_prev), Some(z_prev)) = (cache.a(l - 1), cache.z(l - 1).or(cache.a(0))) else { break };
        // The planted bug: dW[2] is computed from Z[1] instead of A[1].
        let input = if l == 2 { z_prev } else { a_prev };
        grads.push((dz.dot(&input.t()) / m, dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / m));
        if l > 1 {
            let w = &net.layers()[l - 1].w;
            let a = a_prev.to_owned();
            dz = w.t().dot(&dz) * &(1.0 - &a * &a);
        }
    }
    grads.reverse();
    grads
}

/// The reference's numerical gradients as (dW, db) pairs.
fn reference_gradients(
    net: &Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    eps: f64,
) -> Vec<(Array2<f64>, Array2<f64>)> {
    numerical_gradients(net, x, y, 0.0, eps, None)
        .map(|g| g.layers().into_iter().map(|(dw, db)| (dw.clone(), db.clone())).collect())
        .unwrap_or_default()
}

/// W[l]_ij or b[l]_ij (`l` 0-based) of `net`.
fn param(net: &mut Network, l: usize, bias: bool, i: usize, j: usize) -> &mut f64 {
    let layer = &mut net.layers_mut()[l];
    if bias { &mut layer.b[[i, j]] } else { &mut layer.w[[i, j]] }
}

/// One number per parameter W[l]_ij, b[l]_ij of `net`, from `probe` on a copy of the network
/// (which may leave the copy changed: the planted mistakes below do), in the shapes of (W[l], b[l]).
fn per_parameter(
    net: &Network,
    mut probe: impl FnMut(&mut Network, usize, bool, usize, usize) -> f64,
) -> Vec<(Array2<f64>, Array2<f64>)> {
    let mut copy = net.clone();
    let mut out = Vec::new();
    for l in 0..net.num_layers() {
        let mut pair = (Array2::zeros(net.layers()[l].w.dim()), Array2::zeros(net.layers()[l].b.dim()));
        for bias in [false, true] {
            let len = if bias { pair.1.len() } else { pair.0.len() };
            for k in 0..len {
                let cols = if bias { 1 } else { net.layers()[l].w.ncols() };
                let (i, j) = (k / cols, k % cols);
                let d = probe(&mut copy, l, bias, i, j);
                if bias { pair.1[[i, j]] = d } else { pair.0[[i, j]] = d }
            }
        }
        out.push(pair);
    }
    out
}

/// J of `n` on (x, y), NaN if the forward pass fails.
fn cost_of(n: &Network, x: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
    n.forward(x).and_then(|c| n.cost(&c, y, 0.0)).unwrap_or(f64::NAN)
}

/// A numerical gradient that forgets to put θ_i back after probing it.
fn without_restore(
    net: &Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    eps: f64,
) -> Vec<(Array2<f64>, Array2<f64>)> {
    per_parameter(net, |probe, l, bias, i, j| {
        *param(probe, l, bias, i, j) += eps;
        let plus = cost_of(probe, x, y);
        *param(probe, l, bias, i, j) -= 2.0 * eps;
        let minus = cost_of(probe, x, y);
        (plus - minus) / (2.0 * eps)
    })
}

/// A numerical gradient by the one-sided difference (J(θ + ε) − J(θ)) / ε.
fn one_sided(
    net: &Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    eps: f64,
) -> Vec<(Array2<f64>, Array2<f64>)> {
    let base = cost_of(net, x, y);
    per_parameter(net, |probe, l, bias, i, j| {
        *param(probe, l, bias, i, j) += eps;
        let d = (cost_of(probe, x, y) - base) / eps;
        *param(probe, l, bias, i, j) -= eps;
        d
    })
}

/// Two finite differences of the same J agree to about 1e-16 / ε (the rounding of J, divided
/// by ε): θ + ε − 2ε is not exactly θ − ε. With ε ≥ 1e-6 this leaves a margin of 1000.
const DIFFERENCE_TOLERANCE: f64 = 1e-7;

/// [`numerical_gradients_check`]'s planted mistakes. The wrong number of pairs is a hint of
/// the grader's own (a property of the result).
const NUMERICAL_GRADIENTS: &[Mistake<NumericalGradients>] = &[
    // First: a one-sided difference must be named as such, whatever else it resembles.
    Mistake { name: "one-sided", hint: ONE_SIDED, wrong: one_sided },
    Mistake {
        name: "θ not restored",
        hint: "Each probe must start from the network as it was: after probing θ_i, put it back. | θ_i + ε, then \
               θ_i − ε, then θ_i again before the next entry.",
        wrong: without_restore,
    },
    Mistake {
        name: "over ε",
        hint: "The two probes are 2ε apart, and the difference is divided by their distance. | (J(θ + ε e_i) − J(θ − ε e_i)) / (2ε).",
        wrong: |net, x, y, eps| {
            reference_gradients(net, x, y, eps).into_iter().map(|(dw, db)| (dw * 2.0, db * 2.0)).collect()
        },
    },
];

/// Checks the numerical gradients of every W[l] and b[l] against `ann_core`'s (within 1e-7).
pub fn numerical_gradients_check(f: NumericalGradients) -> Report {
    let (net, x, y) = gradcheck_case();
    let mut r = rng(32);
    let mut small = Network::new(&[2, 3, 1], Activation::Relu, Task::Binary, Init::He, 8).expect("valid");
    for layer in small.layers_mut() {
        layer.b = random(layer.b.nrows(), 1, 0.5, &mut r);
    }
    let xs = random(2, 4, 1.0, &mut r);
    let ys = ndarray::array![[1.0, 0.0, 0.0, 1.0]];
    // Case 1's large ε makes a one-sided difference (error O(ε)) miss by far more than the
    // tolerance, while two central differences with the same ε still agree to rounding.
    let cases = [(net.clone(), x.clone(), y.clone(), 1e-3), (net, x, y, 1e-6), (small, xs, ys, 1e-5)];
    let mut g = Grader::new("numerical_gradients", cases.len());
    for (net, x, y, eps) in &cases {
        let expected = reference_gradients(net, x.view(), y.view(), *eps);
        let call = |f: NumericalGradients| f(net, x.view(), y.view(), *eps);
        let wrong = run_mistakes(NUMERICAL_GRADIENTS, call);
        let inputs = || format!("sizes {:?}, X {}, ε = {eps}", net.sizes(), shape(x.view()));
        let check = |got: Vec<(Array2<f64>, Array2<f64>)>| {
            if got.len() != expected.len() {
                return Err(Wrong {
                    problem: format!("expected {} (dW, db) pairs, got {}", expected.len(), got.len()),
                    hint: Some("Return one (dW[l], db[l]) pair per layer, layer 1 first. | [(dW[1], db[1]), ..., (dW[L], db[L])].".into()),
                    expected: String::new(),
                    got: String::new(),
                });
            }
            let right = got.iter().zip(&expected).all(|((dw, db), (edw, edb))| {
                compare_within(edw.view(), dw.view(), &[], DIFFERENCE_TOLERANCE).is_ok()
                    && compare_within(edb.view(), db.view(), &[], DIFFERENCE_TOLERANCE).is_ok()
            });
            // A result that does not move when ε does ignores the ε it is given.
            if !right
                && let Attempt::Done(other) = attempt(|| f(net, x.view(), y.view(), *eps * 10.0))
                && other == got
            {
                return Err(Wrong {
                    problem: format!(
                        "your result is the same with ε = {eps} and with ε = {}: it does not use ε",
                        *eps * 10.0
                    ),
                    hint: Some(TINY_EPSILON.into()),
                    expected: String::new(),
                    got: String::new(),
                });
            }
            for (l, ((dw, db), (edw, edb))) in got.iter().zip(&expected).enumerate() {
                let dw_wrong = parts(&wrong, |r| r.get(l).map(|p| &p.0));
                compare_within(edw.view(), dw.view(), &dw_wrong, DIFFERENCE_TOLERANCE)
                    .map_err(|w| prefix(w, &format!("dW[{}]", l + 1)))?;
                let db_wrong = parts(&wrong, |r| r.get(l).map(|p| &p.1));
                compare_within(edb.view(), db.view(), &db_wrong, DIFFERENCE_TOLERANCE)
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

fn norm(a: ArrayView2<f64>) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// [`relative_error`]'s planted mistakes.
const RELATIVE_ERROR: &[Mistake<RelativeError>] = &[
    Mistake {
        name: "no denominator",
        hint: "The error must not depend on the gradients' scale: divide by their size. | ‖a − b‖ / (‖a‖ + ‖b‖).",
        wrong: |a, b| norm((&a - &b).view()),
    },
    Mistake {
        name: "over ‖a‖",
        hint: "Divide by the size of both gradients, which stays safe when one of them is 0. | ‖a − b‖ / (‖a‖ + ‖b‖).",
        wrong: |a, b| norm((&a - &b).view()) / norm(a),
    },
    Mistake {
        name: "largest entry",
        hint: "‖·‖ is the Euclidean norm of all the entries, not the largest one. | ‖v‖ = √(Σ v²).",
        wrong: |a, b| (&a - &b).iter().fold(0.0_f64, |m, v| m.max(v.abs())) / (norm(a) + norm(b)),
    },
];

/// Checks ‖a − b‖ / (‖a‖ + ‖b‖).
pub fn relative_error(f: RelativeError) -> Report {
    let mut r = rng(33);
    let a = random(3, 4, 1.0, &mut r);
    let near = &a + &random(3, 4, 1e-6, &mut r);
    let far = random(3, 4, 2.0, &mut r);
    let cases = [(a.clone(), near), (a.clone(), far), (a * 100.0, random(3, 4, 50.0, &mut r))];
    let mut g = Grader::new("relative_error", cases.len());
    for (a, b) in &cases {
        let expected = norm((a - b).view()) / (norm(a.view()) + norm(b.view()));
        let call = |f: RelativeError| f(a.view(), b.view());
        let wrong = run_mistakes(RELATIVE_ERROR, call);
        let inputs = || format!("a {}, b {}", shape(a.view()), shape(b.view()));
        if let Err(report) = g.case(inputs, attempt(|| call(f)), |got| compare_number(expected, got, &wrong))
        {
            return report;
        }
    }
    g.finish()
}

/// Checks your answer to "which tensor does [`buggy_backward`] get wrong?": `fn planted_bug()
/// -> &'static str` returning its name, e.g. "db[3]".
pub fn planted_bug(f: fn() -> &'static str) -> Report {
    let name = "planted_bug";
    match attempt(f) {
        crate::grade::Attempt::NotImplemented => {
            Report { name, passed: 0, total: 1, outcome: Outcome::NotImplemented, level: 1 }
        }
        crate::grade::Attempt::Panicked(message) => {
            Report { name, passed: 0, total: 1, outcome: Outcome::Panicked { case: 1, message }, level: 1 }
        }
        crate::grade::Attempt::Done(answer) => {
            let answer = answer.replace(' ', "");
            if answer == "dW[2]" {
                Report { name, passed: 1, total: 1, outcome: Outcome::Passed, level: 1 }
            } else {
                Report {
                    name,
                    passed: 0,
                    total: 1,
                    outcome: Outcome::Wrong {
                        case: 1,
                        inputs: "buggy_backward on gradcheck_case()".into(),
                        problem: format!("{answer} is not the tensor with the bug"),
                        hint: Some("A gradient check finds the tensor: compare each tensor of buggy_backward with your numerical gradients. | The tensor whose relative error is far above 1e-7 (the others are near 1e-10).".into()),
                        expected: "a name like dW[l] or db[l]".into(),
                        got: answer,
                    },
                    level: 1,
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::tests::check_table;

    fn re_ok(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
        norm((&a - &b).view()) / (norm(a) + norm(b))
    }

    /// This file's graders, each with a reference implementation and its planted mistakes.
    pub(crate) fn tables() -> Vec<String> {
        [
            check_table(two_sided_difference, TWO_SIDED_DIFFERENCE, |j, t, e| {
                (j(t + e) - j(t - e)) / (2.0 * e)
            }),
            check_table(numerical_gradients_check, NUMERICAL_GRADIENTS, reference_gradients),
            check_table(relative_error, RELATIVE_ERROR, re_ok),
        ]
        .concat()
    }

    fn ng_weights_only(
        net: &Network,
        x: ArrayView2<f64>,
        y: ArrayView2<f64>,
        e: f64,
    ) -> Vec<(Array2<f64>, Array2<f64>)> {
        reference_gradients(net, x, y, e).into_iter().map(|(w, b)| (w, Array2::zeros(b.dim()))).collect()
    }

    /// Right, but with its own ε = 1e-12 whatever ε it is given.
    fn ng_tiny_epsilon(
        net: &Network,
        x: ArrayView2<f64>,
        y: ArrayView2<f64>,
        _: f64,
    ) -> Vec<(Array2<f64>, Array2<f64>)> {
        reference_gradients(net, x, y, 1e-12)
    }

    #[test]
    fn numerical_gradients_names_a_one_sided_difference_and_an_epsilon_of_its_own() {
        let r = numerical_gradients_check(one_sided);
        assert!(matches!(r.outcome, Outcome::Wrong { case: 1, .. }) && r.hint() == Some(ONE_SIDED), "{r}");
        assert!(r.to_string().contains("one-sided") && !r.to_string().contains("O(ε²)"), "{r}");
        assert!(r.more().to_string().contains("O(ε²)"));
        let r = numerical_gradients_check(ng_tiny_epsilon);
        assert!(r.hint() == Some(TINY_EPSILON) && r.to_string().contains("does not use ε"), "{r}");
    }

    #[test]
    fn numerical_gradients_names_the_wrong_tensor() {
        let w = numerical_gradients_check(ng_weights_only);
        assert!(!w.is_passed() && w.to_string().contains("db[1]"), "{w}");
    }

    #[test]
    fn the_bug_is_in_one_tensor_and_found_by_a_gradient_check() {
        let (net, x, y) = gradcheck_case();
        let cache = net.forward(x.view()).unwrap();
        let buggy = buggy_backward(&net, &cache, y.view());
        let numeric = reference_gradients(&net, x.view(), y.view(), 1e-6);
        let mut bad = Vec::new();
        for (l, ((bw, bb), (nw, nb))) in buggy.iter().zip(&numeric).enumerate() {
            for (name, a, b) in [("dW", bw, nw), ("db", bb, nb)] {
                let err = re_ok(a.view(), b.view());
                if err > 1e-7 {
                    bad.push(format!("{name}[{}]", l + 1));
                }
            }
        }
        assert_eq!(bad, vec!["dW[2]".to_string()]);
        fn right() -> &'static str {
            "dW[2]"
        }
        fn wrong() -> &'static str {
            "db[2]"
        }
        fn blank() -> &'static str {
            todo!("the name of the tensor")
        }
        fn first_layer() -> &'static str {
            "dW[1]"
        }
        fn not_a_name() -> &'static str {
            "the second one"
        }
        assert!(planted_bug(right).is_passed());
        for answer in [wrong, first_layer, not_a_name] {
            assert!(planted_bug(answer).hint().unwrap().contains("relative error"));
        }
        assert_eq!(planted_bug(blank).outcome, Outcome::NotImplemented);
    }
}

/// The relative error of every tensor of [`buggy_backward`] against the learner's numerical
/// gradients, on [`gradcheck_case`] (the table of the exercise's last part).
#[derive(Debug, Clone, PartialEq)]
pub struct GradientCheckTable {
    /// (tensor name, relative error), dW[1], db[1], dW[2], ...; empty if not available.
    pub rows: Vec<(String, f64)>,
    /// Why there is no table, when there is none.
    pub missing: Option<String>,
}

impl GradientCheckTable {
    /// Shows the table in a Rust notebook.
    pub fn evcxr_display(&self) {
        evcxr_runtime::mime_type("text/plain").text(self.to_string());
    }
}

impl std::fmt::Display for GradientCheckTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(why) = &self.missing {
            return write!(f, "{why}");
        }
        writeln!(f, "tensor   relative error (buggy_backward vs your numerical gradients)")?;
        for (i, (name, err)) in self.rows.iter().enumerate() {
            let flag = if *err > 1e-7 { "   <- far above 1e-7" } else { "" };
            write!(f, "{name:<8} {err:.3e}{flag}")?;
            if i + 1 < self.rows.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// Runs the learner's [`NumericalGradients`] and [`RelativeError`] on [`gradcheck_case`] and
/// compares [`buggy_backward`] with them, tensor by tensor (with ε = 1e-6).
pub fn gradient_check_table(numerical: NumericalGradients, relative: RelativeError) -> GradientCheckTable {
    let (net, x, y) = gradcheck_case();
    let missing = |why: String| GradientCheckTable { rows: Vec::new(), missing: Some(why) };
    let Ok(cache) = net.forward(x.view()) else { return missing("the exercise's network cannot run".into()) };
    let buggy = buggy_backward(&net, &cache, y.view());
    let numeric = match attempt(|| numerical(&net, x.view(), y.view(), 1e-6)) {
        crate::grade::Attempt::Done(g) => g,
        crate::grade::Attempt::NotImplemented => {
            return missing(format!(
                "{} implement numerical_gradients first (it is still todo!())",
                crate::report::TODO
            ));
        }
        crate::grade::Attempt::Panicked(m) => {
            return missing(format!("{} numerical_gradients panicked: {m}", crate::report::FAILED));
        }
    };
    if numeric.len() != buggy.len() {
        return missing(format!(
            "{} numerical_gradients returned {} layers, the network has {}",
            crate::report::FAILED,
            numeric.len(),
            buggy.len()
        ));
    }
    let mut rows = Vec::new();
    for (l, ((bw, bb), (nw, nb))) in buggy.iter().zip(&numeric).enumerate() {
        for (name, a, b) in [("dW", bw, nw), ("db", bb, nb)] {
            if a.dim() != b.dim() {
                return missing(format!(
                    "{} your {name}[{}] has shape {}, expected {}",
                    crate::report::FAILED,
                    l + 1,
                    shape(b.view()),
                    shape(a.view())
                ));
            }
            match attempt(|| relative(a.view(), b.view())) {
                crate::grade::Attempt::Done(e) => rows.push((format!("{name}[{}]", l + 1), e)),
                crate::grade::Attempt::NotImplemented => {
                    return missing(format!(
                        "{} implement relative_error first (it is still todo!())",
                        crate::report::TODO
                    ));
                }
                crate::grade::Attempt::Panicked(m) => {
                    return missing(format!("{} relative_error panicked: {m}", crate::report::FAILED));
                }
            }
        }
    }
    GradientCheckTable { rows, missing: None }
}
