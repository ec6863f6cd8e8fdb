//! ONNX export.
