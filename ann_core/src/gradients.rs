//! dθ = ∂J/∂θ for every parameter θ of a network, one gradient per entry of the parameter list
//! ([`crate::param`]) and in its order: dW[1], db[1] (dγ[1], dβ[1]), dW[2], … Backpropagation
//! returns them, the optimizers take them, gradient checking compares them.

use crate::error::{AnnError, Result, shape_str};
use crate::network::Network;
use crate::param::{ParamId, ParamKind};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

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
    pub fn zeros_like(net: &Network) -> Self {
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
    pub fn dw_norms(&self) -> Vec<f64> {
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
    pub fn check_fits(&self, net: &Network) -> Result<()> {
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

fn count_mismatch(net: &Network, got: usize) -> AnnError {
    let names: Vec<String> = net.params().map(|p| format!("d{}", p.id)).collect();
    AnnError::ShapeMismatch {
        context: "gradients (one per parameter)".into(),
        expected: format!("{} gradients [{}]", names.len(), names.join(", ")),
        got: format!("{got} gradients"),
    }
}
