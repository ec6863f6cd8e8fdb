//! A readable listing of an ONNX file (see [`describe_onnx`](super::describe_onnx)).

use super::proto::{
    AttributeProto, AttributeType, DataType, ModelProto, TensorProto, TypeProto, ValueInfoProto,
    tensor_shape_proto::dimension, type_proto,
};
use std::fmt::Write;

/// The name of an element type code, e.g. `float32`; `type 99` for a code onnx.proto lacks.
pub(crate) fn type_name(code: i32) -> String {
    match DataType::try_from(code) {
        Ok(DataType::Float) => "float32".into(),
        Ok(DataType::Double) => "float64".into(),
        Ok(DataType::Int64) => "int64".into(),
        Ok(DataType::Int32) => "int32".into(),
        Ok(DataType::Float16) => "float16".into(),
        Ok(DataType::Bfloat16) => "bfloat16".into(),
        Ok(other) => format!("{other:?}").to_lowercase(),
        Err(_) => format!("type {code}"),
    }
}

fn value_type(t: Option<&TypeProto>) -> String {
    let Some(type_proto::Value::TensorType(tensor)) = t.and_then(|t| t.value.as_ref()) else {
        return "(not a tensor)".into();
    };
    let elem = tensor.elem_type.map_or("(no element type)".into(), type_name);
    let Some(shape) = &tensor.shape else { return format!("{elem} (any shape)") };
    let dims: Vec<String> = shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(dimension::Value::DimValue(n)) => n.to_string(),
            Some(dimension::Value::DimParam(s)) => s.clone(),
            None => "?".into(),
        })
        .collect();
    format!("{elem} [{}]", dims.join(", "))
}

fn value_info(v: &ValueInfoProto) -> String {
    format!("{}: {}", v.name.as_deref().unwrap_or("(unnamed)"), value_type(v.r#type.as_ref()))
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(16).map(|v| v.to_string()).collect();
    let more = if items.len() > 16 { format!(", … {} in all", items.len()) } else { String::new() };
    format!("[{}{more}]", shown.join(", "))
}

fn lossy(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let short: String = s.chars().take(80).collect();
    if short.len() < s.len() { format!("{short:?}…") } else { format!("{short:?}") }
}

fn attribute(a: &AttributeProto) -> String {
    let name = a.name.as_deref().unwrap_or("(unnamed)");
    let value = match a.r#type.map(AttributeType::try_from) {
        Some(Ok(AttributeType::Float)) => a.f.unwrap_or_default().to_string(),
        Some(Ok(AttributeType::Int)) => a.i.unwrap_or_default().to_string(),
        Some(Ok(AttributeType::String)) => lossy(a.s.as_deref().unwrap_or_default()),
        Some(Ok(AttributeType::Floats)) => list(&a.floats),
        Some(Ok(AttributeType::Ints)) => list(&a.ints),
        Some(Ok(AttributeType::Strings)) => list(&a.strings.iter().map(|s| lossy(s)).collect::<Vec<_>>()),
        Some(Ok(AttributeType::Tensor)) => a.t.as_ref().map_or("(no tensor)".into(), tensor_type),
        Some(Ok(AttributeType::Graph)) => {
            a.g.as_ref().map_or("(no graph)".into(), |g| format!("a graph of {} nodes", g.node.len()))
        }
        Some(Ok(other)) => format!("({other:?})"),
        Some(Err(_)) | None => "(no type)".into(),
    };
    format!("{name}={value}")
}

fn tensor_type(t: &TensorProto) -> String {
    format!("{} {}", t.data_type.map_or("(no type)".into(), type_name), list(&t.dims))
}

/// The listing (see [`describe_onnx`](super::describe_onnx)); `model` is any decoded model.
pub(crate) fn describe(model: &ModelProto) -> String {
    let mut s = String::new();
    let graph = model.graph.as_ref();
    let opsets: Vec<String> = model
        .opset_import
        .iter()
        .map(|o| {
            let domain = o.domain.as_deref().filter(|d| !d.is_empty()).unwrap_or("ai.onnx");
            format!("{domain} {}", o.version.unwrap_or_default())
        })
        .collect();
    // Writing to a String cannot fail.
    let _ = writeln!(
        s,
        "ONNX model: IR version {}, opset {}, producer {} {}",
        model.ir_version.map_or("(none)".into(), |v| v.to_string()),
        if opsets.is_empty() { "(none)".into() } else { opsets.join(", ") },
        model.producer_name.as_deref().unwrap_or("(none)"),
        model.producer_version.as_deref().unwrap_or(""),
    );
    if !model.metadata_props.is_empty() {
        let _ = writeln!(s, "metadata:");
        for p in &model.metadata_props {
            let _ = writeln!(s, "  {}: {}", p.key.as_deref().unwrap_or(""), p.value.as_deref().unwrap_or(""));
        }
    }
    let Some(graph) = graph else { return s };
    let _ = writeln!(s, "inputs:");
    for v in &graph.input {
        let _ = writeln!(s, "  {}", value_info(v));
    }
    let _ = writeln!(s, "outputs:");
    for v in &graph.output {
        let _ = writeln!(s, "  {}", value_info(v));
    }
    let _ = writeln!(s, "nodes ({}):", graph.node.len());
    for n in &graph.node {
        let attrs: Vec<String> = n.attribute.iter().map(attribute).collect();
        let attrs = if attrs.is_empty() { String::new() } else { format!("  {}", attrs.join(", ")) };
        let _ = writeln!(
            s,
            "  {}: {}({}) → {}{attrs}",
            n.name.as_deref().unwrap_or("(unnamed)"),
            n.op_type.as_deref().unwrap_or("(no op)"),
            n.input.join(", "),
            n.output.join(", "),
        );
    }
    let numbers: i128 = graph
        .initializer
        .iter()
        .map(|t| t.dims.iter().fold(1i128, |p, &d| p.saturating_mul(i128::from(d))))
        .fold(0i128, |a, b| a.saturating_add(b));
    let _ = writeln!(s, "initializers ({}, {numbers} numbers):", graph.initializer.len());
    for t in &graph.initializer {
        let _ = writeln!(s, "  {}: {}", t.name.as_deref().unwrap_or("(unnamed)"), tensor_type(t));
    }
    s
}
