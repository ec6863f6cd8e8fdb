//! Convolutional networks (gallery 19–20): the filters a small CNN learns on Fashion-MNIST
//! in its first layer, and one test image's feature maps layer by layer. Needs the
//! Fashion-MNIST files (`ANN_FASHION_MNIST_DIR` or /usr/share/datasets/fashion-mnist).

use super::{Entry, timed};
use ann_core::{
    Activation, Conv2dConfig, DataView, Image, Init, LayerSpec, Network, Optimizer, PixelScale, Task,
    TrainConfig, fashion_mnist, fit,
};
use ann_plot::{self as plot, Figure, PlotError, Result};
use ndarray::{Array1, s};
use std::sync::OnceLock;

/// Figures appended after 1–18.
pub fn entries() -> Vec<Entry> {
    vec![
        Entry { name: "19_cnn_filters", svg: false, make: fig_filters },
        Entry { name: "20_cnn_feature_maps", svg: false, make: fig_feature_maps },
    ]
}

/// A trained network, one test image and the name of its class.
type Trained = (Network, Array1<f64>, &'static str);

/// The chapter's network, 1×28×28 → 16 filters 3×3 (padding 1), ReLU, 2×2 max pooling →
/// 32 filters 3×3, ReLU, 2×2 pooling → 10 classes, trained 2 epochs on the first 10,000
/// training images (Adam α = 0.001, batches of 64); with the first test image and its
/// class. Trained once for both figures.
fn small_cnn() -> Result<&'static Trained> {
    static RUN: OnceLock<std::result::Result<Trained, String>> = OnceLock::new();
    let run = RUN.get_or_init(|| {
        let train = || -> Result<Trained> {
            let data = fashion_mnist(None, PixelScale::Unit)?;
            let specs = [
                Conv2dConfig::new(16, 3).padding(1).pool(2).into(),
                Conv2dConfig::new(32, 3).padding(1).pool(2).into(),
                LayerSpec::Dense(10),
            ];
            let input = Image::new(1, 28, 28);
            let mut net =
                Network::convolutional(input, &specs, Activation::Relu, Task::MultiClass, Init::He, 10)?;
            let x = data.train.x.slice(s![.., ..10_000]);
            let y = data.train.targets(Task::MultiClass);
            let y = y.slice(s![.., ..10_000]);
            let config = TrainConfig { batch_size: 64, seed: 11, ..TrainConfig::default() };
            fit(&mut net, &mut Optimizer::adam(0.001)?, DataView::new(x, y), &config, 2)?;
            Ok((net, data.test.x.column(0).to_owned(), data.class_name(data.test.labels[0])))
        };
        train().map_err(|e| e.to_string())
    });
    run.as_ref().map_err(|e| PlotError::Draw(format!("training the figures' CNN: {e}")))
}

fn fig_filters() -> Result<Figure> {
    let (net, _, _) = small_cnn()?;
    timed(|| {
        plot::conv_filters(
            net,
            1,
            "The 16 filters of layer 1 after 2 epochs on 10,000 Fashion-MNIST images (W[1]: 16 × 1×3×3)",
        )
    })
}

fn fig_feature_maps() -> Result<Figure> {
    let (net, x, class) = small_cnn()?;
    timed(|| {
        plot::feature_maps(
            net,
            x.view(),
            &format!("A test image ({class}) through the network, layer by layer"),
        )
    })
}
