//! # ann_interop — take a trained network elsewhere
//!
//! `ann_core` saves a network as its own JSON, which nothing else reads. This crate writes the
//! two formats the field shares:
//!
//! | format | what it holds | read by | module |
//! |---|---|---|---|
//! | safetensors | the parameters, named as in PyTorch's `nn.Sequential` | PyTorch, candle, burn | [`safetensors`](mod@safetensors) |
//! | ONNX | the whole network as a graph of operators, ready to run | onnxruntime, tract, candle-onnx, burn-import | [`onnx`] |
//!
//! [`arrays`] writes and reads matrices of examples (inputs, predictions) in safetensors
//! files, one example per row as the frameworks hold them.
//!
//! It is a crate of its own so that a notebook that never exports does not compile it.

// The course's notation (W[l], A[L]) reads to rustdoc as links that do not resolve.
#![allow(rustdoc::broken_intra_doc_links)]

pub mod arrays;
pub mod onnx;
pub mod safetensors;
