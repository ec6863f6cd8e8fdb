//! The parameters θ of a network as one ordered list: W[1], b[1] (γ[1], β[1] if layer 1 is
//! normalized), W[2], b[2], … Everything that treats parameters alike walks this list: the
//! optimizers (one update rule, applied to each θ), the gradients (dθ, in the same order),
//! the optimizer's running averages (one set per θ), gradient checking and saving.
//!
//! Each parameter is tagged with its layer l and its [`ParamKind`]; a learner still reads
//! W[l], b[l] and dW[l] ([`Gradients::dw`](crate::Gradients::dw)) as in the course.

use ndarray::{ArrayView2, ArrayViewMut2};
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

#[cfg(test)]
mod tests {
    use crate::gradients::Gradients;
    use crate::{Activation, Init, Network, Task};
    use ndarray::Array2;

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
