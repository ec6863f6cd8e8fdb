//! Figures drawn with plotters: every plot function returns a [`Figure`] that shows
//! inline in Jupyter (evcxr) and saves as PNG or SVG.
//!
//! Plot functions take results (a [`History`](ann_core::History), a trained
//! [`Network`](ann_core::Network) and its data, a forward [`Cache`](ann_core::Cache)), never file
//! paths, and return `Result<Figure>`: bad input (empty, non-finite, wrong shape) is an
//! [`AnnError`](ann_core::AnnError), not a panic. Rendering is deterministic: the same inputs
//! give byte-identical PNG and SVG.
//!
//! | figure | function |
//! |---|---|
//! | loss and accuracy per epoch | [`training_curves`] |
//! | layers as feature transformers, 2-D → 3-D → 2-D | [`feature_transformer`] |
//! | activation functions and derivatives | [`activation_functions`] |
//! | decision boundary of a 2-D classifier | [`decision_boundary`](fn@decision_boundary) |
//! | firing pattern of a layer (neurons × examples) | [`layer_activations`] |
//! | each hidden neuron over the input plane | [`neuron_maps`] |
//! | a dropout mask D and inverted-dropout scaling | [`dropout_mask`] |
//! | confusion matrix of a classifier | [`confusion_matrix`] |
//! | grid of (misclassified) images | [`image_grid`] |
//! | a 1-D regression fit against its data | [`regression_fit`] |
//! | an autograd expression: every node with its value and gradient | [`computation_graph`] |
//! | the learning-rate range test: J against a growing α | [`lr_range_plot`] |
//! | a random search: validation accuracy against α and λ | [`search_scatter`] |
//! | the health of every layer over a training run (update/weight ratio, activations, dead units, gradients) | [`network_health`] |
//!
//! [`playground`] turns sets of real runs into views a learner scrubs through with sliders in
//! JupyterLab (Vega-Lite, with a PNG of the first view for every other front end).
//!
//! In a notebook, a cell ending in a figure shows it:
//!
//! ```no_run
//! use ann_core::Activation;
//! use ann_plot as plot;
//! # fn main() -> ann_plot::Result<()> {
//! let fig = plot::activation_functions(&[Activation::Relu, Activation::Tanh], (-4.0, 4.0), "")?;
//! fig.save_png("activations.png")?;
//! # Ok(()) }
//! ```
//!
//! Styling lives in [`style`] (Okabe–Ito palette, font sizes, colormaps, the bundled DejaVu
//! Sans font); new figures implement [`Draw`] and call [`Figure::from_drawing`]
//! (plotters is re-exported as [`plotters`]).

// The course's notation (W[l], A[L], X[0]) reads to rustdoc as links that do not resolve;
// `make doc` checks the real links, written [`Name`], with this lint forced on.
#![allow(rustdoc::broken_intra_doc_links)]

mod activations;
mod batch_norm;
mod computation_graph;
mod convolution;
mod curves;
mod decision_boundary;
mod dropout;
pub mod error;
mod evaluation;
pub mod experiments;
mod figure;
mod layers;
pub mod predict;
pub mod style;
mod transform;

pub use activations::activation_functions;
pub use batch_norm::{MAX_HISTOGRAM_UNITS, normalization_histograms};
pub use computation_graph::{MAX_GRAPH_NODES, computation_graph};
pub use convolution::{MAX_FILTERS_SHOWN, conv_filters, feature_maps};
pub use curves::training_curves;
pub use decision_boundary::decision_boundary;
pub use dropout::{MAX_DROPOUT_COLUMNS, dropout_mask};
pub use error::{PlotError, Result};
pub use evaluation::{confusion_matrix, image_grid, regression_fit};
pub use figure::{Draw, Figure, MAX_SIDE, plot_error};
pub use layers::{MAX_NEURON_MAPS, layer_activations, neuron_maps};
pub use transform::feature_transformer;

// Building blocks the figures share, one file per thing drawn or checked.
mod axes;
mod checks;
mod colorbar;
mod contour;
mod grid;
mod heatmap;
mod landscape;
mod legend;
mod paths;
mod points;
mod range;
mod raster;
mod text;

/// The plotters version the figures are drawn with, for implementing [`Draw`] without a
/// separate `:dep plotters` (which could resolve to another version).
pub use plotters;

// Figures of the experiments in `experiments`, one file per topic, named like the topic's
// experiment (and playground).
mod adam_moments;
mod boundary_evolution;
mod deep_training;
mod gradient_flow;
mod learning_rate;
mod loss_surface;
mod minibatch;
mod network_health;
mod optimizers;
mod weight_updates;
pub use adam_moments::adam_moment_traces;
pub use boundary_evolution::{boundary_evolution, boundary_frame, save_boundary_gif};
pub use deep_training::deep_training_curves;
pub use gradient_flow::gradient_norms;
pub use learning_rate::learning_rate_curves;
pub use loss_surface::loss_landscape;
pub use minibatch::{batch_size_curves, batch_size_paths};
pub use network_health::network_health;
pub use optimizers::{optimizer_loss_curves, optimizer_trajectories};
pub use weight_updates::weight_update_traces;

// Scatter plots of 2-D data sets, and several training runs on one chart.
mod compare;
mod data;
pub use compare::{MAX_RUNS, compare_runs};
pub use data::{MAX_DATASET_PANELS, dataset, datasets};

// Choosing α and λ: the learning-rate range test, a random search scored on validation.
mod tuning;
pub use tuning::{MAX_SEARCH_STAGES, lr_range_plot, search_scatter};

// Learning-rate decay: α per epoch and the training loss of real runs.
mod schedule;
pub use schedule::learning_rate_schedules;

// Playgrounds: real runs to scrub through with sliders (Vega-Lite, with a PNG fallback).
pub mod playground;
pub use playground::Playground;

// Images of named classes (Fashion-MNIST): a captioned grid and the confusion matrix.
mod class_images;
pub use class_images::{class_confusion_matrix, class_image_grid};
