//! Golden tests against the expected values published in the classic deep-learning course
//! ("Building your Deep Neural Network: Step by Step" and "Optimization Methods"), whose
//! inputs come from `np.random.seed(k); np.random.randn(...)`; the inputs are copied here
//! at full precision and the expected outputs as the notebooks print them (8 decimals).

use ann_core::*;
use approx::assert_abs_diff_eq;
use ndarray::{Array2, array};

const EPS: f64 = 1e-8;

fn layer(w: Array2<f64>, b: Array2<f64>, activation: Activation) -> Layer {
    Layer::new(w, b, activation)
}

/// linear_forward_test_case (seed 1): Z = W A + b = [[3.26295337, −1.23429987]].
#[test]
fn linear_forward() {
    let a = array![
        [1.6243453636632417, -0.6117564136500754],
        [-0.5281717522634557, -1.0729686221561705],
        [0.8654076293246785, -2.3015386968802827]
    ];
    let w = array![[1.74481176421648, -0.7612069008951028, 0.31903909605709857]];
    let b = array![[-0.2493703754774101]];
    let net = Network::from_layers(vec![layer(w, b, Activation::Linear)], Loss::MeanSquaredError).unwrap();
    let cache = net.forward(a.view()).unwrap();
    assert_abs_diff_eq!(cache.z(1).unwrap(), array![[3.26295337, -1.23429987]], epsilon = EPS);
}

/// linear_activation_forward_test_case (seed 2): sigmoid → [[0.96890023, 0.11013289]],
/// ReLU → [[3.43896131, 0]].
#[test]
fn linear_activation_forward() {
    let a = array![
        [-0.4167578474054706, -0.05626682722632947],
        [-2.136196095668454, 1.6402708084049886],
        [-1.7934355851948631, -0.841747365656204]
    ];
    let w = array![[0.5028814171580428, -1.2452880866072316, -1.057952218862339]];
    let b = array![[-0.9090076149268493]];
    let sig = Network::from_layers(
        vec![layer(w.clone(), b.clone(), Activation::Sigmoid)],
        Loss::BinaryCrossEntropy,
    )
    .unwrap();
    assert_abs_diff_eq!(
        sig.predict_proba(a.view()).unwrap(),
        array![[0.96890023, 0.11013289]],
        epsilon = EPS
    );
    let relu = Network::from_layers(vec![layer(w, b, Activation::Relu)], Loss::MeanSquaredError).unwrap();
    assert_abs_diff_eq!(relu.predict_proba(a.view()).unwrap(), array![[3.43896131, 0.0]], epsilon = EPS);
}

/// L_model_forward_test_case_2hidden (seed 6): [LINEAR→RELU]×2 → LINEAR→SIGMOID,
/// AL = [[0.03921668, 0.70498921, 0.19734387, 0.04728177]].
#[test]
fn l_model_forward() {
    let x = array![
        [-0.3117836734875166, 0.7290039236125041, 0.217820788076002, -0.899091796547139],
        [-2.486780651627865, 0.9132515212358882, 1.1270637259718324, -1.5140932286302158],
        [1.639291082937691, -0.429893603006348, 2.631280557263819, 0.6018222499558621],
        [-0.335881614942245, 1.2377378432256467, 0.11112816676749648, 0.12915124790351565],
        [0.07612761221533733, -0.15512815855861198, 0.6342253431679246, 0.8106550034260697]
    ];
    let w1 = array![
        [
            0.35480860897233396,
            1.8125903138100259,
            -1.35647580427871,
            -0.46363196589133393,
            0.8246538446440631
        ],
        [
            -1.176431480417109,
            1.5644896595827746,
            0.7127050945352849,
            -0.18100659786226136,
            0.5341995255869898
        ],
        [
            -0.5866129598182624,
            -1.4818532687885322,
            0.8572476184373129,
            0.9430989873732034,
            0.11444143426896443
        ],
        [
            -0.02195668359356742,
            -2.127144546507961,
            -0.8344074682049434,
            -0.46550830994897974,
            0.23371059076593925
        ]
    ];
    let b1 = array![[1.38503522596164], [-0.5196270866741285], [-0.7801521386228953], [0.9556095905534739]];
    let w2 = array![
        [-0.12673637802304688, -1.3686128233234724, 1.2184806459360435, -0.8575014382799956],
        [-0.561470876450171, -1.033519899395963, 0.3587709557468817, 1.0736813420021738],
        [-0.37550472443361677, 0.39636757306029724, -0.4714462768528868, 2.336607812175251]
    ];
    let b2 = array![[1.5027855311376723], [-0.5954597189794897], [0.5283410565026931]];
    let w3 = array![[0.939824797582067, 0.42628538672729444, -0.7581570301480978]];
    let b3 = array![[-0.16236697650035925]];
    let net = Network::from_layers(
        vec![
            layer(w1, b1, Activation::Relu),
            layer(w2, b2, Activation::Relu),
            layer(w3, b3, Activation::Sigmoid),
        ],
        Loss::BinaryCrossEntropy,
    )
    .unwrap();
    let cache = net.forward(x.view()).unwrap();
    assert_eq!(cache.num_layers(), 3);
    assert_abs_diff_eq!(
        cache.output(),
        array![[0.03921668, 0.70498921, 0.19734387, 0.04728177]],
        epsilon = EPS
    );
}

/// compute_cost_test_case: Y = [[1, 1, 0]], AL = [[0.8, 0.9, 0.4]] → 0.2797765635793422.
#[test]
fn compute_cost() {
    let y = array![[1.0, 1.0, 0.0]];
    let al = array![[0.8, 0.9, 0.4]];
    let cost = Loss::BinaryCrossEntropy.cost_from_output(al.view(), y.view());
    assert_abs_diff_eq!(cost, 0.2797765635793422, epsilon = 1e-12);
    // The stable form from the logits gives the same number.
    let z = al.mapv(|a: f64| (a / (1.0 - a)).ln());
    assert_abs_diff_eq!(
        Loss::BinaryCrossEntropy.cost(z.view(), al.view(), y.view()),
        0.2797765635793422,
        epsilon = 1e-12
    );
}

/// update_parameters_with_adam_test_case (seed 1): zero moments, t = 2, α = 0.01,
/// β1 = 0.9, β2 = 0.999, ε = 1e-8.
#[test]
fn adam_update() {
    let w1 = array![
        [1.6243453636632417, -0.6117564136500754, -0.5281717522634557],
        [-1.0729686221561705, 0.8654076293246785, -2.3015386968802827]
    ];
    let b1 = array![[1.74481176421648], [-0.7612069008951028]];
    let w2 = array![
        [0.31903909605709857, -0.2493703754774101, 1.462107937044974],
        [-2.060140709497654, -0.3224172040135075, -0.38405435466841564],
        [1.1337694423354374, -1.0998912673140309, -0.17242820755043575]
    ];
    let b2 = array![[-0.8778584179213718], [0.04221374671559283], [0.5828152137158222]];
    let grads = [
        (
            array![
                [-1.1006191772129212, 1.1447237098396141, 0.9015907205927955],
                [0.5024943389018682, 0.9008559492644118, -0.6837278591743331]
            ],
            array![[-0.12289022551864817], [-0.9357694342590688]],
        ),
        (
            array![
                [-0.2678880796260159, 0.530355466738186, -0.691660751725309],
                [-0.39675352685597737, -0.6871727001195994, -0.8452056414987196],
                [-0.671246130836819, -0.01266459891890136, -1.1173103486352778]
            ],
            array![[0.23441569781709215], [1.6598021771098705], [0.7420441605773356]],
        ),
    ];
    // The course's parameter dict does not chain (W2 is 3×3 after a 2-unit layer), so each
    // layer is updated as its own one-layer network; Adam's update is per tensor anyway.
    let mut updated = Vec::new();
    for (i, (w, b)) in [(w1, b1), (w2, b2)].into_iter().enumerate() {
        let mut net =
            Network::from_layers(vec![layer(w, b, Activation::Linear)], Loss::MeanSquaredError).unwrap();
        // The test case calls the update with t = 2 and zero moments.
        let zeros = |p: Param<'_>| Some(Array2::zeros(p.value.dim()));
        let params = net.params().map(|p| ParamState { id: p.id, first: zeros(p.clone()), second: zeros(p) });
        let state = OptimizerState { t: 1, params: params.collect() };
        let config = AdamConfig { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
        let mut adam = Optimizer::with_state(config, state).unwrap();
        adam.step(&mut net, &Gradients::from_layers(vec![grads[i].clone()])).unwrap();
        assert_eq!(adam.state().t, 2);
        updated.push(net.layers()[0].clone());
    }
    let l = &updated;
    assert_abs_diff_eq!(
        l[0].w,
        array![[1.63178673, -0.61919778, -0.53561312], [-1.08040999, 0.85796626, -2.29409733]],
        epsilon = EPS
    );
    assert_abs_diff_eq!(l[0].b, array![[1.75225313], [-0.75376553]], epsilon = EPS);
    assert_abs_diff_eq!(
        l[1].w,
        array![
            [0.32648046, -0.25681174, 1.46954931],
            [-2.05269934, -0.31497584, -0.37661299],
            [1.14121081, -1.0924499, -0.16498684]
        ],
        epsilon = EPS
    );
    assert_abs_diff_eq!(l[1].b, array![[-0.88529979], [0.03477238], [0.57537385]], epsilon = EPS);
}
