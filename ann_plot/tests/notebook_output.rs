//! What a notebook receives: evcxr reads the stdout of a cell and turns each
//! `EVCXR_BEGIN_CONTENT <mime>` … `EVCXR_END_CONTENT` block into one output of that MIME
//! type. This test runs `evcxr_display` of a figure and of a playground in a child process
//! (itself, with an argument) and checks the blocks it prints.

use ann_core::Activation;
use ann_plot::playground::{OptimizerPathsConfig, VEGA_LITE_MIME, optimizer_path_playground};
use std::process::Command;

fn figure() -> ann_plot::Figure {
    ann_plot::activation_functions(&[Activation::Tanh], (-2.0, 2.0), "output").unwrap()
}

fn playground() -> ann_plot::Playground {
    optimizer_path_playground(&OptimizerPathsConfig {
        steps: 5,
        grid_points: 10,
        ..OptimizerPathsConfig::default()
    })
    .unwrap()
}

/// The (mime, content) blocks of `text`; anything outside a block is an error.
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("EVCXR_BEGIN_CONTENT ") {
        assert!(rest[..start].trim().is_empty(), "text outside a block: {:?}", &rest[..start]);
        let body = &rest[start + "EVCXR_BEGIN_CONTENT ".len()..];
        let (mime, body) = body.split_once('\n').expect("a MIME line");
        let end = body.find("\nEVCXR_END_CONTENT\n").expect("an end marker");
        out.push((mime.to_string(), body[..end].to_string()));
        rest = &body[end + "\nEVCXR_END_CONTENT\n".len()..];
    }
    assert!(rest.trim().is_empty(), "text after the last block: {rest:?}");
    out
}

fn emitted(what: &str) -> Vec<(String, String)> {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe).arg(what).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    blocks(&String::from_utf8(out.stdout).unwrap())
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("--emit-figure") => return figure().evcxr_display(),
        Some("--emit-playground") => return playground().evcxr_display(),
        _ => {}
    }
    // A figure: the PNG (base64, decoding to its bytes) and a line of text; no SVG.
    let fig = figure();
    let got = emitted("--emit-figure");
    let mimes: Vec<&str> = got.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(mimes, ["image/png", "text/plain"]);
    assert_eq!(base64::decode(&got[0].1).unwrap(), fig.png_bytes());
    assert_eq!(got[1].1, fig.to_string());
    // A playground: the Vega-Lite spec as one line of JSON (evcxr parses MIME types with
    // "json" in their name), the PNG of its default view, and a line of text.
    let pg = playground();
    let got = emitted("--emit-playground");
    let mimes: Vec<&str> = got.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(mimes, [VEGA_LITE_MIME, "image/png", "text/plain"]);
    assert!(!got[0].1.contains('\n'));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&got[0].1).unwrap(), *pg.spec());
    assert_eq!(base64::decode(&got[1].1).unwrap(), pg.fallback().png_bytes());
    assert_eq!(got[2].1, pg.to_string());
    println!("notebook_output: a figure's 2 outputs and a playground's 3 outputs are as evcxr reads them");
}
