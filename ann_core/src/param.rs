//! The parameters θ of a network as one ordered list: W[1], b[1] (γ[1], β[1] if layer 1 is
//! normalized), W[2], b[2], … Everything that treats parameters alike walks this list: the
//! optimizers (one update rule, applied to each θ), the gradients (dθ, in the same order),
//! the optimizer's running averages (one set per θ), gradient checking and saving.
//!
//! Each parameter is tagged with its layer l and its [`ParamKind`]; a learner still reads
//! W[l], b[l] and dW[l] ([`Gradients::dw`]) as in the course.

use crate::error::{AnnError, Result, shape_str};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use serde::{Deserialize, Serialize};

/// What a parameter is to its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ParamKind {
    /// W[l]: the weights of a layer's product W[l] A[l−1] (the ones L2 penalizes and AdamW
    /// decays).
    Weight,
    /// b[l]: the bias added to every column.
    Bias,
    /// γ[l]: a normalization's scale.
    Scale,
    /// β[l]: a normalization's shift.
    Shift,
}

impl ParamKind {
    /// The symbol of the course: "W", "b", "γ" or "β".
    pub fn symbol(self) -> &'static str {
        match self {
            ParamKind::Weight => "W",
            ParamKind::Bias => "b",
            ParamKind::Scale => "γ",
            ParamKind::Shift => "β",
        }
    }
}

/// Which parameter: layer l (1-based, as in the course) and its kind. Displays as "W[2]".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParamId {
    /// l, counted from 1.
    pub layer: usize,
    /// W, b, γ or β.
    pub kind: ParamKind,
}

impl ParamId {
    /// W[l].
    pub fn w(layer: usize) -> Self {
        ParamId { layer, kind: ParamKind::Weight }
    }

    /// b[l].
    pub fn b(layer: usize) -> Self {
        ParamId { layer, kind: ParamKind::Bias }
    }

    /// γ[l].
    pub fn gamma(layer: usize) -> Self {
        ParamId { layer, kind: ParamKind::Scale }
    }

    /// β[l].
    pub fn beta(layer: usize) -> Self {
        ParamId { layer, kind: ParamKind::Shift }
    }
}

impl std::fmt::Display for ParamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.kind.symbol(), self.layer)
    }
}

/// One parameter θ of a network, read-only: its name and its values.
#[derive(Debug, Clone)]
pub struct Param<'a> {
    /// Which parameter.
    pub id: ParamId,
    /// θ.
    pub value: ArrayView2<'a, f64>,
}

/// One parameter θ of a network, to update in place (its shape stays).
#[derive(Debug)]
pub struct ParamMut<'a> {
    /// Which parameter.
    pub id: ParamId,
    /// θ.
    pub value: ArrayViewMut2<'a, f64>,
}

/// dθ = ∂J/∂θ for every parameter θ of a network, in the order of
/// [`Network::params`](crate::Network::params): dW[1], db[1], (dγ[1], dβ[1]), dW[2], …
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gradients {
    entries: Vec<(ParamId, Array2<f64>)>,
}

impl Gradients {
    /// Gradients from (θ, dθ) pairs in the network's parameter order.
    pub fn new(entries: Vec<(ParamId, Array2<f64>)>) -> Self {
        Gradients { entries }
    }

    /// The gradients of a network without normalization from one (dW[l], db[l]) pair per
    /// layer, layer 1 first.
    pub fn from_layers(layers: Vec<(Array2<f64>, Array2<f64>)>) -> Self {
        let entries = layers
            .into_iter()
            .enumerate()
            .flat_map(|(i, (dw, db))| [(ParamId::w(i + 1), dw), (ParamId::b(i + 1), db)])
            .collect();
        Gradients { entries }
    }

    /// Zero gradients shaped like `net`'s parameters.
    pub fn zeros_like(net: &crate::Network) -> Self {
        Gradients { entries: net.params().map(|p| (p.id, Array2::zeros(p.value.dim()))).collect() }
    }

    /// (θ's name, dθ) in parameter order.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &Array2<f64>)> {
        self.entries.iter().map(|(id, g)| (*id, g))
    }

    /// (θ's name, dθ) in parameter order, to change dθ.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (ParamId, &mut Array2<f64>)> {
        self.entries.iter_mut().map(|(id, g)| (*id, g))
    }

    /// The number of parameters (tensors, not entries).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// dθ for the parameter `id`, if the network has it.
    pub fn get(&self, id: ParamId) -> Option<&Array2<f64>> {
        self.entries.iter().find(|(i, _)| *i == id).map(|(_, g)| g)
    }

    /// dθ for the parameter `id`, to change it.
    pub fn get_mut(&mut self, id: ParamId) -> Option<&mut Array2<f64>> {
        self.entries.iter_mut().find(|(i, _)| *i == id).map(|(_, g)| g)
    }

    /// dW[l].
    pub fn dw(&self, l: usize) -> Option<&Array2<f64>> {
        self.get(ParamId::w(l))
    }

    /// db[l].
    pub fn db(&self, l: usize) -> Option<&Array2<f64>> {
        self.get(ParamId::b(l))
    }

    /// (dW[l], db[l]) of every layer, layer 1 first (a normalized layer's dγ[l], dβ[l] are
    /// left out: see [`Gradients::get`]).
    pub fn layers(&self) -> Vec<(&Array2<f64>, &Array2<f64>)> {
        let weights = self.iter().filter(|(id, _)| id.kind == ParamKind::Weight);
        weights.filter_map(|(id, dw)| Some((dw, self.db(id.layer)?))).collect()
    }

    /// ‖dW[l]‖_F per layer, layer 1 first (the gradient-flow figures plot these).
    pub fn weight_norms(&self) -> Vec<f64> {
        self.iter()
            .filter(|(id, _)| id.kind == ParamKind::Weight)
            .map(|(_, g)| crate::matrix_norm::frobenius(g.view()))
            .collect()
    }

    /// Whether every entry is finite.
    pub fn is_finite(&self) -> bool {
        self.entries.iter().all(|(_, g)| g.iter().all(|v| v.is_finite()))
    }

    /// dθ by index in parameter order (the workspace writes them in place).
    pub(crate) fn value_mut(&mut self, k: usize) -> &mut Array2<f64> {
        &mut self.entries[k].1
    }

    /// Fails unless these are gradients of `net`'s parameters: the same names, in the same
    /// order, with the same shapes.
    pub fn check_fits(&self, net: &crate::Network) -> Result<()> {
        let mut params = net.params();
        for (k, (id, g)) in self.entries.iter().enumerate() {
            match params.next() {
                Some(p) if p.id == *id && p.value.dim() == g.dim() => {}
                Some(p) => {
                    return Err(AnnError::ShapeMismatch {
                        context: format!("gradient {} of the network's parameters (entry {})", k + 1, k + 1),
                        expected: format!("d{} {}", p.id, shape_str(p.value.shape())),
                        got: format!("d{id} {}", shape_str(g.shape())),
                    });
                }
                None => return Err(count_mismatch(net, self.len())),
            }
        }
        if params.next().is_some() {
            return Err(count_mismatch(net, self.len()));
        }
        Ok(())
    }
}

fn count_mismatch(net: &crate::Network, got: usize) -> AnnError {
    let names: Vec<String> = net.params().map(|p| format!("d{}", p.id)).collect();
    AnnError::ShapeMismatch {
        context: "gradients (one per parameter)".into(),
        expected: format!("{} gradients [{}]", names.len(), names.join(", ")),
        got: format!("{got} gradients"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, Init, Network, Task};

    #[test]
    fn names_and_order() {
        let net = Network::new(&[2, 3, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
        let names: Vec<String> = net.params().map(|p| p.id.to_string()).collect();
        assert_eq!(names, ["W[1]", "b[1]", "W[2]", "b[2]"]);
        let g = Gradients::zeros_like(&net);
        assert_eq!(g.dw(2).unwrap().dim(), (1, 3));
        assert!(g.dw(3).is_none());
        assert!(g.check_fits(&net).is_ok());
        let other = Network::new(&[2, 4, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
        let err = g.check_fits(&other).unwrap_err().to_string();
        assert!(err.contains("dW[1] (4, 2)") && err.contains("dW[1] (3, 2)"), "{err}");
        let short = Gradients::from_layers(vec![(Array2::zeros((3, 2)), Array2::zeros((3, 1)))]);
        assert!(short.check_fits(&net).unwrap_err().to_string().contains("4 gradients"));
    }
}
