//! The L-layer network: architecture, construction and prediction.
//!
//! Layers are numbered as in the course, l = 1..=L; `layers()[l − 1]` holds W[l], b[l].
//! A[0] = X has shape (n_x, m): one column per example.

use crate::activation::Activation;
use crate::cache::{Cache, Train};
use crate::conv::{Image, LayerSpec};
use crate::error::{AnnError, Result, check_finite, check_finite_matrix, shape_str};
use crate::init::Init;
use crate::layer::{Layer, LayerKind};
use crate::loss::Loss;
use crate::metrics::{accuracy, labels_from_output};
use crate::normalization::{NormalizationConfig, in_layer};
use crate::param::{Param, ParamKind, ParamMut};
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What the network is for; fixes the output activation and the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Task {
    /// Sigmoid output + binary cross-entropy; labels Y ∈ {0, 1}, shape (1, m).
    Binary,
    /// Softmax output + cross-entropy; one-hot labels Y, shape (k, m).
    MultiClass,
    /// Linear output + mean squared error; real targets Y, shape (n_L, m).
    Regression,
}

impl Task {
    /// (g[L], loss) for this task.
    pub fn output(self) -> (Activation, Loss) {
        match self {
            Task::Binary => (Activation::Sigmoid, Loss::BinaryCrossEntropy),
            Task::MultiClass => (Activation::Softmax, Loss::CrossEntropy),
            Task::Regression => (Activation::Linear, Loss::MeanSquaredError),
        }
    }
}

/// An L-layer fully connected network with its loss.
///
/// Deserialization goes through [`Network::from_layers`], so a loaded network is always valid.
/// Two networks are equal when their layers and loss are; each also has an identity of its
/// own ([`Network::id`]), which an optimizer's state is tied to.
#[derive(Serialize, Deserialize)]
#[serde(try_from = "NetworkRepr")]
pub struct Network {
    layers: Vec<Layer>,
    loss: Loss,
    #[serde(skip_serializing)]
    id: NetworkId,
}

/// The identity of one network: every network built, loaded or cloned gets a new one, so an
/// [`Optimizer`](crate::Optimizer) can tell whether a network is the one its state belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetworkId(u64);

impl NetworkId {
    fn fresh() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        NetworkId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl Clone for Network {
    /// The same layers and loss, as a network of its own (a new [`NetworkId`]).
    fn clone(&self) -> Self {
        Network { layers: self.layers.clone(), loss: self.loss, id: NetworkId::fresh() }
    }
}

impl PartialEq for Network {
    /// The same layers (weights, biases, activations) and loss; the identity does not count.
    fn eq(&self, other: &Self) -> bool {
        self.layers == other.layers && self.loss == other.loss
    }
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network").field("layers", &self.layers).field("loss", &self.loss).finish()
    }
}

/// The shapes chain: W[l] is (n_l, n_{l−1}) and not empty, b[l] is (n_l, 1); a
/// convolutional layer's geometry fits its W[l] and b[l], and its input is the image (or
/// the number of rows) the layer before gives.
fn check_chain(layers: &[Layer]) -> Result<()> {
    if layers.is_empty() {
        return Err(AnnError::InvalidArchitecture("the layer list is empty".into()));
    }
    for (i, layer) in layers.iter().enumerate() {
        let l = i + 1;
        match &layer.kind {
            LayerKind::Dense => {
                if layer.w.is_empty() {
                    return Err(AnnError::InvalidArchitecture(format!(
                        "W[{l}] is empty ({})",
                        shape_str(layer.w.shape())
                    )));
                }
                if layer.b.dim() != (layer.w.nrows(), 1) {
                    return Err(AnnError::ShapeMismatch {
                        context: format!("b[{l}] of layer {l}"),
                        expected: format!("({}, 1)", layer.w.nrows()),
                        got: shape_str(layer.b.shape()),
                    });
                }
            }
            LayerKind::Conv2d(conv) => conv.check(layer.w.dim(), layer.b.dim(), l)?,
        }
        let Some(prev) = i.checked_sub(1).map(|p| &layers[p]) else { continue };
        match (&layer.kind, prev.output_image()) {
            (LayerKind::Conv2d(conv), Some(image)) if conv.input != image => {
                return Err(AnnError::ShapeMismatch {
                    context: format!(
                        "input image of convolutional layer {l} (the output of layer {})",
                        l - 1
                    ),
                    expected: image.to_string(),
                    got: conv.input.to_string(),
                });
            }
            (LayerKind::Conv2d(conv), _) if conv.input.len() != prev.units() => {
                return Err(AnnError::ShapeMismatch {
                    context: format!(
                        "input image {} of convolutional layer {l} from layer {}'s {} units",
                        conv.input,
                        l - 1,
                        prev.units()
                    ),
                    expected: format!("{} rows", prev.units()),
                    got: format!("{} rows", conv.input.len()),
                });
            }
            (LayerKind::Dense, image) if layer.w.ncols() != prev.units() => {
                // after an image layer, the dense layer takes the flattened image
                let given = image.map_or(format!("{} units", prev.units()), |im| {
                    format!("{} units (its output image {im}, flattened)", prev.units())
                });
                return Err(AnnError::ShapeMismatch {
                    context: format!("W[{l}] must take layer {}'s {given}", l - 1),
                    expected: format!("({}, {})", layer.w.nrows(), prev.units()),
                    got: shape_str(layer.w.shape()),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The raw serialized form, checked before it becomes a [`Network`].
#[derive(Deserialize)]
struct NetworkRepr {
    layers: Vec<Layer>,
    loss: Loss,
}

impl TryFrom<NetworkRepr> for Network {
    type Error = AnnError;
    fn try_from(raw: NetworkRepr) -> Result<Self> {
        Network::from_layers(raw.layers, raw.loss)
    }
}

impl Network {
    /// Builds a network from layer sizes [n_0 = n_x, n_1, ..., n_L], with `hidden` as g[l]
    /// for l < L and the output activation and loss of `task`; weights from `init` with a
    /// ChaCha8 RNG seeded by `seed`.
    ///
    /// ```
    /// use ann_core::{Network, Activation, Task, Init};
    /// let net = Network::new(&[2, 64, 32, 1], Activation::Relu, Task::Binary, Init::He, 42).unwrap();
    /// assert_eq!(net.num_layers(), 3);
    /// assert_eq!(net.layers()[0].w.dim(), (64, 2));
    /// ```
    pub fn new(sizes: &[usize], hidden: Activation, task: Task, init: Init, seed: u64) -> Result<Self> {
        let (out, loss) = task.output();
        let l = sizes.len().saturating_sub(1);
        let mut acts = vec![hidden; l];
        if let Some(last) = acts.last_mut() {
            *last = out;
        }
        Self::with_activations(sizes, &acts, loss, init, seed)
    }

    /// Builds a network with one activation per layer (`activations[l − 1]` is g[l]) and any
    /// loss. BCE requires a sigmoid output, CE a softmax output (their fused gradient).
    pub fn with_activations(
        sizes: &[usize],
        activations: &[Activation],
        loss: Loss,
        init: Init,
        seed: u64,
    ) -> Result<Self> {
        if sizes.len() < 2 {
            return Err(AnnError::InvalidArchitecture(format!(
                "need at least an input and an output size, got layer sizes {sizes:?}"
            )));
        }
        if let Some(i) = sizes.iter().position(|&n| n == 0) {
            return Err(AnnError::InvalidArchitecture(format!("layer {i} has 0 units (sizes {sizes:?})")));
        }
        if activations.len() != sizes.len() - 1 {
            return Err(AnnError::InvalidArchitecture(format!(
                "{} layers need {} activations, got {}",
                sizes.len() - 1,
                sizes.len() - 1,
                activations.len()
            )));
        }
        if let Init::Random { scale } = init
            && !(scale.is_finite() && scale > 0.0)
        {
            return Err(crate::error::bad_hyper("init scale", scale, "must be finite and > 0"));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers = sizes
            .windows(2)
            .zip(activations)
            .map(|(pair, &activation)| {
                Layer::new(init.weights(pair[1], pair[0], &mut rng), Array2::zeros((pair[1], 1)), activation)
            })
            .collect();
        Self::from_layers(layers, loss)
    }

    /// Builds a convolutional network on `input` images (X is (C·H·W, m), one image per
    /// column): `layers` in order, each [`LayerSpec::Conv2d`] on the image the layer before
    /// gives, each [`LayerSpec::Dense`] on the rows of the layer before (a flattened image
    /// after a convolutional layer). The last layer is dense with `task`'s output activation
    /// and loss, the others use `hidden`. W[l] is drawn by `init` (a filter's fan-in is C·k·k)
    /// with a ChaCha8 RNG seeded by `seed`, layer after layer; b[l] = 0.
    ///
    /// ```
    /// use ann_core::prelude::*;
    /// // 1×28×28 → 8 filters 5×5, padding 2, 2×2 pooling → 8×14×14 → 10 classes
    /// let net = Network::convolutional(
    ///     Image::new(1, 28, 28),
    ///     &[Conv2dConfig::new(8, 5).padding(2).pool(2).into(), LayerSpec::Dense(10)],
    ///     Activation::Relu,
    ///     Task::MultiClass,
    ///     Init::He,
    ///     7,
    /// )?;
    /// assert_eq!(net.sizes(), vec![784, 8 * 14 * 14, 10]);
    /// assert_eq!(net.layers()[0].w.dim(), (8, 25));
    /// assert_eq!(net.num_params(), (8 * 25 + 8) + (10 * 1568 + 10));
    /// # Ok::<(), AnnError>(())
    /// ```
    pub fn convolutional(
        input: Image,
        layers: &[LayerSpec],
        hidden: Activation,
        task: Task,
        init: Init,
        seed: u64,
    ) -> Result<Self> {
        let (out, loss) = task.output();
        if !matches!(layers.last(), Some(LayerSpec::Dense(_))) {
            return Err(AnnError::InvalidArchitecture(format!(
                "the last layer is the output layer and must be dense, got {:?}",
                layers.last()
            )));
        }
        if let Init::Random { scale } = init
            && !(scale.is_finite() && scale > 0.0)
        {
            return Err(crate::error::bad_hyper("init scale", scale, "must be finite and > 0"));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut image = Some(input);
        let mut rows = input.len();
        let mut built = Vec::with_capacity(layers.len());
        for (i, spec) in layers.iter().enumerate() {
            let l = i + 1;
            let activation = if l == layers.len() { out } else { hidden };
            let layer = match *spec {
                LayerSpec::Conv2d(config) => {
                    let Some(on) = image else {
                        return Err(AnnError::InvalidArchitecture(format!(
                            "convolutional layer {l} follows dense layer {}, whose {rows} units are not an image",
                            l - 1
                        )));
                    };
                    let conv = config.on(on);
                    conv.check_geometry(|| format!("convolutional layer {l}"))?;
                    if config.filters == 0 {
                        return Err(AnnError::InvalidArchitecture(format!(
                            "convolutional layer {l} has 0 filters"
                        )));
                    }
                    let w = init.weights(config.filters, conv.patch_len(), &mut rng);
                    Layer::conv(w, Array2::zeros((config.filters, 1)), activation, conv)
                }
                LayerSpec::Dense(units) => {
                    if units == 0 {
                        return Err(AnnError::InvalidArchitecture(format!("dense layer {l} has 0 units")));
                    }
                    Layer::new(init.weights(units, rows, &mut rng), Array2::zeros((units, 1)), activation)
                }
            };
            image = layer.output_image();
            rows = layer.units();
            built.push(layer);
        }
        Self::from_layers(built, loss)
    }

    /// Assembles a network from explicit layers (e.g. hand-written weights for a golden
    /// test), checking that shapes chain: W[l] is (n_l, n_{l−1}), b[l] is (n_l, 1).
    pub fn from_layers(layers: Vec<Layer>, loss: Loss) -> Result<Self> {
        check_chain(&layers)?;
        for (i, layer) in layers.iter().enumerate() {
            let l = i + 1;
            check_finite(layer.w.iter().chain(layer.b.iter()), &format!("W[{l}] or b[{l}]"))?;
            layer.activation.validate().map_err(|e| in_layer(e, l))?;
            if let Some(norm) = &layer.normalization {
                if let LayerKind::Conv2d(_) = layer.kind {
                    return Err(AnnError::InvalidArchitecture(format!(
                        "layer {l} is convolutional: a {} of image layers is not supported (it \
                         would normalize each pixel of each channel on its own)",
                        norm.kind().name()
                    )));
                }
                if l == layers.len() {
                    return Err(AnnError::InvalidArchitecture(format!(
                        "{} is for hidden layers; layer {l} is the output layer",
                        norm.kind().name()
                    )));
                }
                norm.validate(layer.units(), l)?;
            }
        }
        if let (Some(required), Some(last)) = (loss.required_output(), layers.last())
            && last.activation != required
        {
            return Err(AnnError::InvalidArchitecture(format!(
                "{} needs a {} output layer, layer {} is {}",
                loss.name(),
                required.name(),
                layers.len(),
                last.activation.name()
            )));
        }
        Ok(Network { layers, loss, id: NetworkId::fresh() })
    }

    /// The same network with a normalization of `config`'s kind (γ = 1, β = 0) on every
    /// hidden layer 1..L−1: A[l] = g\[l\](γ[l] ⊙ Ẑ[l] + β[l]).
    ///
    /// ```
    /// use ann_core::*;
    /// let net = Network::new(&[2, 8, 8, 1], Activation::Relu, Task::Binary, Init::He, 0)?
    ///     .with_normalization(BatchNormConfig::default())?;
    /// assert!(net.layers()[0].normalization.is_some() && net.layers()[2].normalization.is_none());
    /// assert_eq!(net.num_params(), (2 * 8 + 8 + 16) + (8 * 8 + 8 + 16) + (8 + 1));
    /// # Ok::<(), AnnError>(())
    /// ```
    pub fn with_normalization(mut self, config: impl NormalizationConfig) -> Result<Self> {
        let hidden = self.layers.len() - 1;
        if let Some(i) = self.layers[..hidden].iter().position(|l| l.kind != LayerKind::Dense) {
            return Err(AnnError::InvalidArchitecture(format!(
                "layer {} is convolutional: normalizing image layers is not supported",
                i + 1
            )));
        }
        for (i, layer) in self.layers[..hidden].iter_mut().enumerate() {
            layer.normalization = Some(config.build(layer.units()).map_err(|e| in_layer(e, i + 1))?);
        }
        Ok(self)
    }

    /// Whether any layer is normalized.
    pub fn has_normalization(&self) -> bool {
        self.layers.iter().any(|l| l.normalization.is_some())
    }

    /// Moves every normalization's running statistics (batch norm's μ_run and σ²_run)
    /// towards the statistics of a training pass; once per training step, after the forward
    /// pass. Normalizations without running statistics (layer norm) do not change.
    pub fn update_running_statistics(&mut self, cache: &Cache<Train>) -> Result<()> {
        if cache.num_layers() != self.num_layers() {
            return Err(AnnError::ShapeMismatch {
                context: "cache from another network".into(),
                expected: format!("{} layers", self.num_layers()),
                got: format!("{} layers", cache.num_layers()),
            });
        }
        // Every layer is checked before any moves: an error leaves the network as it was.
        for (i, layer) in self.layers.iter().enumerate() {
            match (&layer.normalization, cache.normalization_index(i)) {
                (Some(norm), Some(stats)) => {
                    norm.kind().check_running(stats).map_err(|e| in_layer(e, i + 1))?
                }
                (None, None) => {}
                (norm, _) => {
                    return Err(AnnError::InvalidArchitecture(format!(
                        "layer {} is {} in the network and {} in the cache: pass the cache of a \
                         training pass of this network",
                        i + 1,
                        if norm.is_some() { "normalized" } else { "not normalized" },
                        if norm.is_some() { "has no training statistics" } else { "has statistics" },
                    )));
                }
            }
        }
        for (i, layer) in self.layers.iter_mut().enumerate() {
            if let (Some(norm), Some(stats)) = (&mut layer.normalization, cache.normalization_index(i)) {
                norm.kind_mut().move_running(stats);
            }
        }
        Ok(())
    }

    /// Every parameter θ, in order: W[1], b[1] (γ[1], β[1] if layer 1 is normalized), W[2],
    /// … (see [`crate::param`]).
    pub fn params(&self) -> impl Iterator<Item = Param<'_>> {
        self.layers.iter().enumerate().flat_map(|(i, layer)| layer.params(i + 1))
    }

    /// Every parameter θ, in the order of [`Network::params`], to update in place.
    pub fn params_mut(&mut self) -> impl Iterator<Item = ParamMut<'_>> {
        self.layers.iter_mut().enumerate().flat_map(|(i, layer)| layer.params_mut(i + 1))
    }

    /// Every W[l], layer 1 first: what L2 penalizes.
    pub(crate) fn weights(&self) -> impl Iterator<Item = ArrayView2<'_, f64>> {
        self.params().filter(|p| p.id.kind == ParamKind::Weight).map(|p| p.value)
    }

    /// The architecture in words: layer sizes, activations, normalizations and loss. Two
    /// networks with the same description compute alike with the same parameters.
    pub fn architecture(&self) -> String {
        let acts: Vec<String> = self.layers.iter().map(|l| l.activation.to_string()).collect();
        let norms: Vec<String> = (self.layers.iter().enumerate())
            .filter_map(|(i, l)| {
                l.normalization.as_ref().map(|n| format!("{} on layer {}", n.kind().describe(), i + 1))
            })
            .collect();
        let norms = if norms.is_empty() { String::new() } else { format!(", {}", norms.join(", ")) };
        let convs: Vec<String> = (self.layers.iter().enumerate())
            .filter_map(|(i, l)| match &l.kind {
                LayerKind::Dense => None,
                LayerKind::Conv2d(c) => Some(format!("layer {}: {}", i + 1, c.describe(l.w.nrows()))),
            })
            .collect();
        let convs = if convs.is_empty() { String::new() } else { format!(", {}", convs.join(", ")) };
        format!(
            "sizes {:?}, activations [{}]{convs}{norms}, {}",
            self.sizes(),
            acts.join(", "),
            self.loss.name()
        )
    }

    /// The layers; `layers()[l − 1]` is layer l.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Mutable access to the layers (for experiments and hand-set weights). A layer whose
    /// shapes no longer chain is an error in the next pass, not a panic.
    pub fn layers_mut(&mut self) -> &mut [Layer] {
        &mut self.layers
    }

    /// The layers' shapes still chain (see [`Network::from_layers`]): checked before every
    /// pass, as `layers_mut` may have replaced a W[l] or b[l].
    pub(crate) fn check_shapes(&self) -> Result<()> {
        check_chain(&self.layers)
    }

    /// This network's identity (see [`NetworkId`]).
    pub fn id(&self) -> NetworkId {
        self.id
    }

    /// Replaces every W[l] and b[l] (and a normalization's γ, β and running statistics) by those of
    /// `other`, a network of the same architecture, keeping this network's identity (so its
    /// optimizer goes on with it).
    pub(crate) fn copy_weights_from(&mut self, other: &Network) {
        self.layers.clone_from_slice(&other.layers);
    }

    /// The loss J this network is trained on.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// L, the number of layers with weights.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// [n_0, n_1, ..., n_L].
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.layers[0].fan_in()).chain(self.layers.iter().map(Layer::units)).collect()
    }

    /// n_x = n_0.
    pub fn input_size(&self) -> usize {
        self.layers[0].fan_in()
    }

    /// n_L.
    pub fn output_size(&self) -> usize {
        self.layers[self.layers.len() - 1].units()
    }

    /// Total number of trainable numbers Σ_l (n_l n_{l−1} + n_l) (+ 2 n_l per normalized
    /// layer).
    pub fn num_params(&self) -> usize {
        self.params().map(|p| p.value.len()).sum()
    }

    /// Checks an input batch X: shape (n_x, m) with m ≥ 1 and finite values.
    /// `what` names X in the error message, e.g. "training X".
    pub fn check_input(&self, x: ArrayView2<f64>, what: &str) -> Result<()> {
        self.check_input_shape(x.shape(), what)?;
        check_finite_matrix(x, what)
    }

    /// An input X of this `shape` has n_x rows (and at least one column), for this network
    /// (whose own shapes are checked too); `what` names X in the error.
    pub(crate) fn check_input_shape(&self, shape: &[usize], what: &str) -> Result<()> {
        self.check_shapes()?;
        if shape.contains(&0) {
            return Err(AnnError::EmptyInput(format!("{what} has shape {}", shape_str(shape))));
        }
        if shape[0] != self.input_size() {
            return Err(AnnError::ShapeMismatch {
                context: format!("{what} for layer 1 (W[1] · X)"),
                expected: format!("({}, m)", self.input_size()),
                got: shape_str(shape),
            });
        }
        Ok(())
    }

    /// Ŷ = A[L] in eval mode (no dropout; batch norm with the running statistics): the
    /// output of [`Network::forward`], with its bits, computed chunk by chunk of columns by
    /// the fast path, which keeps no cache, so a big data set needs little memory.
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        self.check_input(x, "input X")?;
        crate::fast::predict(self, x)
    }

    /// Class labels: for one output unit, 1 if A[L] > 0.5 else 0; for several,
    /// argmax over each column.
    pub fn predict(&self, x: ArrayView2<f64>) -> Result<Vec<usize>> {
        Ok(labels_from_output(self.predict_proba(x)?.view()))
    }

    /// Fraction of columns whose predicted class equals the label in Y (0/1 row or one-hot).
    pub fn accuracy(&self, x: ArrayView2<f64>, y: ArrayView2<f64>) -> Result<f64> {
        let a = self.predict_proba(x)?;
        if a.dim() != y.dim() {
            return Err(AnnError::ShapeMismatch {
                context: "labels Y for accuracy".into(),
                expected: shape_str(a.shape()),
                got: shape_str(y.shape()),
            });
        }
        Ok(accuracy(a.view(), y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construction_and_validation() {
        let net = Network::new(&[2, 4, 3], Activation::Tanh, Task::MultiClass, Init::Xavier, 1).unwrap();
        assert_eq!(net.sizes(), vec![2, 4, 3]);
        assert_eq!(net.num_params(), 2 * 4 + 4 + 4 * 3 + 3);
        assert_eq!(net.layers()[1].activation, Activation::Softmax);
        assert!(Network::new(&[], Activation::Relu, Task::Binary, Init::He, 0).is_err());
        assert!(Network::new(&[3], Activation::Relu, Task::Binary, Init::He, 0).is_err());
        assert!(Network::new(&[3, 0, 1], Activation::Relu, Task::Binary, Init::He, 0).is_err());
        let err =
            Network::with_activations(&[2, 1], &[Activation::Relu], Loss::BinaryCrossEntropy, Init::He, 0)
                .unwrap_err();
        assert!(err.to_string().contains("sigmoid"), "{err}");
    }

    #[test]
    fn from_layers_names_the_layer_and_shapes() {
        let l1 = Layer::new(Array2::zeros((3, 2)), Array2::zeros((3, 1)), Activation::Relu);
        let l2 = Layer::new(Array2::zeros((1, 4)), Array2::zeros((1, 1)), Activation::Sigmoid);
        let err = Network::from_layers(vec![l1, l2], Loss::BinaryCrossEntropy).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("W[2]") && msg.contains("(1, 3)") && msg.contains("(1, 4)"), "{msg}");
    }
}
