//! Exercise 2, cost and backpropagation: the stable losses, dW, db and dA of a layer, the
//! activations' backward step, and the L-layer backward pass.

use crate::forward::prefix;
use crate::grade::{Grader, Wrong, attempt, compare, compare_number, random, rng, shape};
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

/// Checks J = (1/m) Σ [max(z, 0) − z y + log(1 + e^(−|z|))] (binary cross-entropy from logits).
pub fn binary_cross_entropy(f: Cost) -> Report {
    let cases = binary_cases();
    let mut g = Grader::new("binary_cross_entropy", cases.len());
    for (z, y) in &cases {
        let a = z.mapv(ann_core::sigmoid);
        let expected = Loss::BinaryCrossEntropy.cost(z.view(), a.view(), y.view());
        let m = y.ncols() as f64;
        let naive = -(y * &a.mapv(f64::ln) + (1.0 - y) * &a.mapv(|a| (1.0 - a).ln())).sum() / m;
        let mistakes = [
            (expected * m, "Average over the m examples: J = (1/m) Σ ..."),
            (-expected, "The cross-entropy is −[y log a + (1 − y) log(1 − a)]: mind the sign."),
            (
                naive,
                "log(σ(z)) is −inf when σ(z) rounds to 0 or 1: use the form from the logits, max(z, 0) − z·y + log(1 + e^(−|z|)).",
            ),
        ];
        let inputs = || format!("Z {}, Y {}", shape(z.view()), shape(y.view()));
        let result = attempt(|| f(z.view(), y.view()));
        if let Err(report) = g.case(inputs, result, |got| compare_number(expected, got, &mistakes)) {
            return report;
        }
    }
    g.finish()
}

/// Checks J = −(1/m) Σ_j Σ_i y_ij (z_ij − log Σ_k e^(z_kj)) (softmax cross-entropy from logits).
pub fn cross_entropy(f: Cost) -> Report {
    let mut r = rng(22);
    let mut cases =
        vec![(array![[2.0, 0.1], [1.0, 2.5], [0.1, -1.0]], array![[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])];
    let labels: Vec<usize> = (0..7).map(|_| r.random_range(0..4)).collect();
    cases.push((random(4, 7, 3.0, &mut r), one_hot(&labels, 4)));
    cases.push((array![[1000.0, 0.0], [-1000.0, 900.0]], array![[0.0, 1.0], [1.0, 0.0]]));
    let mut g = Grader::new("cross_entropy", cases.len());
    for (z, y) in &cases {
        let a = Activation::Softmax.forward(z.view());
        let expected = Loss::CrossEntropy.cost(z.view(), a.view(), y.view());
        let m = y.ncols() as f64;
        let exp = z.mapv(f64::exp);
        let naive_a = &exp / &exp.sum_axis(Axis(0));
        let naive = -(y * &naive_a.mapv(f64::ln)).sum() / m;
        let rows = Activation::Softmax.forward(z.t()).reversed_axes();
        let mistakes = [
            (expected * m, "Average over the m examples (columns): J = (1/m) Σ ..."),
            (
                naive,
                "e^1000 overflows: subtract each column's max before e^z (log Σ e^z = max z + log Σ e^(z − max z)).",
            ),
            (
                -(y * &rows.mapv(f64::ln)).sum() / m,
                "The softmax normalizes each column (one example), not each row.",
            ),
        ];
        let inputs = || format!("Z {}, Y {}", shape(z.view()), shape(y.view()));
        let result = attempt(|| f(z.view(), y.view()));
        if let Err(report) = g.case(inputs, result, |got| compare_number(expected, got, &mistakes)) {
            return report;
        }
    }
    g.finish()
}

/// Checks dW = (1/m) dZ·A_prevᵀ, db = (1/m) Σ_columns dZ, dA_prev = Wᵀ·dZ.
pub fn linear_backward(f: LinearBackward) -> Report {
    let mut r = rng(23);
    let cases: Vec<_> = [(1, 3, 2), (4, 3, 5), (2, 6, 7)]
        .iter()
        .map(|&(n, k, m)| (random(n, m, 1.0, &mut r), random(k, m, 1.5, &mut r), random(n, k, 1.0, &mut r)))
        .collect();
    let mut g = Grader::new("linear_backward", cases.len());
    for (dz, a_prev, w) in &cases {
        let m = dz.ncols() as f64;
        let dw = dz.dot(&a_prev.t()) / m;
        let db = dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / m;
        let da = w.t().dot(dz);
        let inputs =
            || format!("dZ {}, A_prev {}, W {}", shape(dz.view()), shape(a_prev.view()), shape(w.view()));
        let result = attempt(|| f(dz.view(), a_prev.view(), w.view()));
        let check = |(gdw, gdb, gda): (Array2<f64>, Array2<f64>, Array2<f64>)| {
            compare(
                dw.view(),
                gdw.view(),
                &[
                    (dz.dot(&a_prev.t()), "dW is averaged over the examples: (1/m) dZ·A_prevᵀ."),
                    (a_prev.dot(&dz.t()) / m, "dW has W's shape (n_l, n_(l−1)): dZ·A_prevᵀ, not A_prev·dZᵀ."),
                ],
            )
            .map_err(|w| prefix(w, "dW"))?;
            compare(
                db.view(),
                gdb.view(),
                &[
                    (
                        dz.sum_axis(Axis(1)).insert_axis(Axis(1)),
                        "db is averaged over the examples: (1/m) Σ dZ.",
                    ),
                    (
                        dz.sum_axis(Axis(0)).insert_axis(Axis(0)) / m,
                        "Sum dZ over the examples (the columns, axis 1), keeping a column: shape (n_l, 1).",
                    ),
                ],
            )
            .map_err(|w| prefix(w, "db"))?;
            compare(
                da.view(),
                gda.view(),
                &[
                    (w.t().dot(dz) / m, "dA_prev = Wᵀ·dZ has no 1/m: the 1/m belongs to dW and db only."),
                    (dz.t().dot(w).reversed_axes(), "dA_prev = Wᵀ·dZ."),
                ],
            )
            .map_err(|w| prefix(w, "dA_prev"))
        };
        if let Err(report) = g.case(inputs, result, check) {
            return report;
        }
    }
    g.finish()
}

fn grade_activation_backward(
    name: &'static str,
    f: ActivationBackward,
    act: Activation,
    mistakes: impl Fn(ArrayView2<f64>, ArrayView2<f64>) -> Vec<(Array2<f64>, &'static str)>,
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
        let wrong = mistakes(da.view(), z.view());
        let inputs = || format!("dA {}, Z {}", shape(da.view()), shape(z.view()));
        let result = attempt(|| f(da.view(), z.view()));
        if let Err(report) = g.case(inputs, result, |got| compare(expected.view(), got.view(), &wrong)) {
            return report;
        }
    }
    g.finish()
}

/// Checks dZ = dA where Z > 0, and 0 elsewhere.
pub fn relu_backward(f: ActivationBackward) -> Report {
    grade_activation_backward("relu_backward", f, Activation::Relu, |da, z| {
        vec![
            (
                da.to_owned(),
                "Units with Z ≤ 0 passed no signal forward and pass none back: dZ = dA where Z > 0, else 0.",
            ),
            (&da * &z.mapv(|v| v.max(0.0)), "Multiply by g'(Z) (1 or 0), not by g(Z) = max(0, Z)."),
            (z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 }), "That is g'(Z) alone: multiply it with dA."),
        ]
    })
}

/// Checks dZ = dA ⊙ σ(Z)(1 − σ(Z)).
pub fn sigmoid_backward(f: ActivationBackward) -> Report {
    grade_activation_backward("sigmoid_backward", f, Activation::Sigmoid, |da, z| {
        let s = z.mapv(ann_core::sigmoid);
        vec![
            (&da * &s, "σ'(z) = σ(z)(1 − σ(z)), not σ(z)."),
            (&da * &z.mapv(|v| v * (1.0 - v)), "σ'(z) = σ(z)(1 − σ(z)): apply σ to Z first."),
            (&s * &(1.0 - &s), "That is σ'(Z) alone: multiply it with dA."),
        ]
    })
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

/// Checks the L-layer backward pass (no L2, no dropout) against [`Network::backward`].
pub fn l_layer_backward(f: LLayerBackward) -> Report {
    let cases = backward_cases();
    let mut g = Grader::new("l_layer_backward", cases.len());
    for (net, x, y) in &cases {
        let Ok(cache) = net.forward(x.view()) else { continue };
        let Ok(grads) = net.backward(&cache, y.view(), 0.0) else { continue };
        let inputs = || format!("sizes {:?}, X {}", net.sizes(), shape(x.view()));
        let result = attempt(|| f(net, &cache, y.view()));
        let m = x.ncols() as f64;
        let check = |got: Vec<(Array2<f64>, Array2<f64>)>| {
            if got.len() != net.num_layers() {
                return Err(Wrong {
                    problem: format!("expected {} (dW, db) pairs, one per layer, got {}", net.num_layers(), got.len()),
                    hint: Some("Return (dW[l], db[l]) for l = 1..=L, layer 1 first (reverse the list built from L down).".into()),
                    expected: format!("{} layers", net.num_layers()),
                    got: format!("{} entries", got.len()),
                });
            }
            for (l, ((dw, db), reference)) in got.iter().zip(&grads.layers).enumerate().rev() {
                compare(reference.dw.view(), dw.view(), &[(&reference.dw * m, "dW[l] = (1/m) dZ[l]·A[l−1]ᵀ: the 1/m is missing.")])
                    .map_err(|w| {
                        let hint = (l + 1 < net.num_layers()).then_some("The last layer is right: check dA[l] = W[l+1]ᵀ·dZ[l+1] and dZ[l] = dA[l] ⊙ g'(Z[l]).");
                        let mut w = prefix(w, &format!("dW[{}]", l + 1));
                        w.hint = w.hint.or(hint.map(str::to_string));
                        w
                    })?;
                compare(
                    reference.db.view(),
                    db.view(),
                    &[(&reference.db * m, "db[l] = (1/m) Σ dZ[l]: the 1/m is missing.")],
                )
                .map_err(|w| prefix(w, &format!("db[{}]", l + 1)))?;
            }
            Ok(())
        };
        if let Err(report) = g.case(inputs, result, check) {
            return report;
        }
    }
    g.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bce_ok(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        let a = z.mapv(ann_core::sigmoid);
        Loss::BinaryCrossEntropy.cost(z, a.view(), y)
    }
    fn bce_sum(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        bce_ok(z, y) * y.ncols() as f64
    }
    fn bce_sign(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        -bce_ok(z, y)
    }
    fn bce_naive(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        let a = z.mapv(ann_core::sigmoid);
        -(&y * &a.mapv(f64::ln) + (1.0 - &y) * &a.mapv(|a| (1.0 - a).ln())).sum() / y.ncols() as f64
    }

    #[test]
    fn binary_cross_entropy_grader() {
        assert!(binary_cross_entropy(bce_ok).is_passed());
        assert!(binary_cross_entropy(bce_sum).hint().unwrap().contains("1/m"));
        assert!(binary_cross_entropy(bce_sign).hint().unwrap().contains("sign"));
        assert!(binary_cross_entropy(bce_naive).hint().unwrap().contains("logits"));
    }

    fn ce_ok(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        let a = Activation::Softmax.forward(z);
        Loss::CrossEntropy.cost(z, a.view(), y)
    }
    fn ce_sum(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        ce_ok(z, y) * y.ncols() as f64
    }
    fn ce_naive(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        let e = z.mapv(f64::exp);
        let a = &e / &e.sum_axis(Axis(0));
        -(&y * &a.mapv(f64::ln)).sum() / y.ncols() as f64
    }
    fn ce_rows(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        let a = Activation::Softmax.forward(z.t()).reversed_axes();
        -(&y * &a.mapv(f64::ln)).sum() / y.ncols() as f64
    }

    #[test]
    fn cross_entropy_grader() {
        assert!(cross_entropy(ce_ok).is_passed());
        assert!(cross_entropy(ce_sum).hint().unwrap().contains("Average"));
        assert!(cross_entropy(ce_naive).hint().unwrap().contains("overflows"));
        assert!(cross_entropy(ce_rows).hint().unwrap().contains("column"));
    }

    type Grads = (Array2<f64>, Array2<f64>, Array2<f64>);
    fn lb_ok(dz: ArrayView2<f64>, a: ArrayView2<f64>, w: ArrayView2<f64>) -> Grads {
        let m = dz.ncols() as f64;
        (dz.dot(&a.t()) / m, dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / m, w.t().dot(&dz))
    }
    fn lb_no_m(dz: ArrayView2<f64>, a: ArrayView2<f64>, w: ArrayView2<f64>) -> Grads {
        (dz.dot(&a.t()), dz.sum_axis(Axis(1)).insert_axis(Axis(1)), w.t().dot(&dz))
    }
    fn lb_transposed(dz: ArrayView2<f64>, a: ArrayView2<f64>, w: ArrayView2<f64>) -> Grads {
        let (dw, db, da) = lb_ok(dz, a, w);
        (dw.reversed_axes(), db, da)
    }
    fn lb_db_axis(dz: ArrayView2<f64>, a: ArrayView2<f64>, w: ArrayView2<f64>) -> Grads {
        let m = dz.ncols() as f64;
        let (dw, _, da) = lb_ok(dz, a, w);
        (dw, dz.sum_axis(Axis(0)).insert_axis(Axis(0)) / m, da)
    }
    fn lb_da_m(dz: ArrayView2<f64>, a: ArrayView2<f64>, w: ArrayView2<f64>) -> Grads {
        let (dw, db, da) = lb_ok(dz, a, w);
        (dw, db, da / dz.ncols() as f64)
    }

    #[test]
    fn linear_backward_grader() {
        assert!(linear_backward(lb_ok).is_passed());
        assert!(linear_backward(lb_no_m).hint().unwrap().contains("averaged"));
        assert!(linear_backward(lb_transposed).hint().unwrap().contains("W's shape"));
        assert!(linear_backward(lb_db_axis).hint().unwrap().contains("axis 1"));
        assert!(linear_backward(lb_da_m).hint().unwrap().contains("no 1/m"));
    }

    fn relu_b_ok(da: ArrayView2<f64>, z: ArrayView2<f64>) -> Array2<f64> {
        &da * &z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 })
    }
    fn relu_b_pass(da: ArrayView2<f64>, _z: ArrayView2<f64>) -> Array2<f64> {
        da.to_owned()
    }
    fn relu_b_value(da: ArrayView2<f64>, z: ArrayView2<f64>) -> Array2<f64> {
        &da * &z.mapv(|v| v.max(0.0))
    }
    fn relu_b_only(_da: ArrayView2<f64>, z: ArrayView2<f64>) -> Array2<f64> {
        z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 })
    }

    #[test]
    fn relu_backward_grader() {
        assert!(relu_backward(relu_b_ok).is_passed());
        assert!(relu_backward(relu_b_pass).hint().unwrap().contains("Z ≤ 0"));
        assert!(relu_backward(relu_b_value).hint().unwrap().contains("not by g(Z)"));
        assert!(relu_backward(relu_b_only).hint().unwrap().contains("alone"));
    }

    fn sig_b_ok(da: ArrayView2<f64>, z: ArrayView2<f64>) -> Array2<f64> {
        let s = z.mapv(ann_core::sigmoid);
        &da * &(&s * &(1.0 - &s))
    }
    fn sig_b_s(da: ArrayView2<f64>, z: ArrayView2<f64>) -> Array2<f64> {
        &da * &z.mapv(ann_core::sigmoid)
    }
    fn sig_b_z(da: ArrayView2<f64>, z: ArrayView2<f64>) -> Array2<f64> {
        &da * &z.mapv(|v| v * (1.0 - v))
    }
    fn sig_b_only(_da: ArrayView2<f64>, z: ArrayView2<f64>) -> Array2<f64> {
        let s = z.mapv(ann_core::sigmoid);
        &s * &(1.0 - &s)
    }

    #[test]
    fn sigmoid_backward_grader() {
        assert!(sigmoid_backward(sig_b_ok).is_passed());
        assert!(sigmoid_backward(sig_b_s).hint().unwrap().contains("not σ(z)"));
        assert!(sigmoid_backward(sig_b_z).hint().unwrap().contains("apply σ"));
        assert!(sigmoid_backward(sig_b_only).hint().unwrap().contains("alone"));
    }

    fn lb_all(
        net: &Network,
        cache: &Cache<Eval>,
        y: ArrayView2<f64>,
        scale_m: bool,
        skip_g: bool,
    ) -> Vec<(Array2<f64>, Array2<f64>)> {
        let n = net.num_layers();
        let m = y.ncols() as f64;
        let mut dz = cache.output().to_owned() - y; // sigmoid+BCE and softmax+CE
        let mut out = Vec::new();
        for l in (1..=n).rev() {
            let a_prev = cache.a(l - 1).unwrap();
            let w = &net.layers()[l - 1].w;
            let k = if scale_m { m } else { 1.0 };
            out.push((dz.dot(&a_prev.t()) / k, dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / k));
            if l > 1 {
                let da = w.t().dot(&dz);
                dz = if skip_g {
                    da
                } else {
                    &da * &cache.z(l - 1).unwrap().mapv(|v| if v > 0.0 { 1.0 } else { 0.0 })
                };
            }
        }
        out.reverse();
        out
    }
    fn llb_ok(net: &Network, cache: &Cache<Eval>, y: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        lb_all(net, cache, y, true, false)
    }
    fn llb_no_m(net: &Network, cache: &Cache<Eval>, y: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        lb_all(net, cache, y, false, false)
    }
    fn llb_no_g(net: &Network, cache: &Cache<Eval>, y: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        lb_all(net, cache, y, true, true)
    }
    fn llb_order(net: &Network, cache: &Cache<Eval>, y: ArrayView2<f64>) -> Vec<(Array2<f64>, Array2<f64>)> {
        let mut v = llb_ok(net, cache, y);
        v.reverse();
        v
    }

    #[test]
    fn l_layer_backward_grader() {
        let r = l_layer_backward(llb_ok);
        assert!(r.is_passed(), "{r}");
        assert!(l_layer_backward(llb_no_m).hint().unwrap().contains("1/m"));
        assert!(l_layer_backward(llb_no_g).hint().unwrap().contains("g'(Z[l])"));
        let order = l_layer_backward(llb_order);
        assert!(!order.is_passed(), "{order}");
    }
}
