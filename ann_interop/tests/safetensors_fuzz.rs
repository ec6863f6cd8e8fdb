//! Corrupted safetensors files: truncated at every length, every byte flipped, random bytes
//! and random headers. Each is an error or a valid network, never a panic.

use ann_core::normalization::NormalizationConfig;
use ann_core::*;
use ann_interop::safetensors::{Dtype, from_safetensors, to_safetensors};
use proptest::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A small network with batch and layer norm, so the file holds every kind of tensor.
fn template() -> Network {
    let net = Network::new(&[3, 4, 4, 2], Activation::Tanh, Task::MultiClass, Init::Xavier, 3).unwrap();
    let mut layers = net.layers().to_vec();
    layers[0].normalization = Some(BatchNormConfig::default().build(4).unwrap());
    layers[1].normalization = Some(LayerNormConfig::default().build(4).unwrap());
    Network::from_layers(layers, Loss::CrossEntropy).unwrap()
}

/// Reads `bytes` into the template, failing the test (with `what`) on a panic.
fn read(bytes: &[u8], net: &Network, what: &str) -> Result<Network> {
    catch_unwind(AssertUnwindSafe(|| from_safetensors(bytes, net)))
        .unwrap_or_else(|_| panic!("from_safetensors panicked on {what}"))
}

#[test]
fn every_truncation_is_an_error() {
    let net = template();
    for dtype in [Dtype::F32, Dtype::F64] {
        let whole = to_safetensors(&net, dtype).unwrap();
        assert_eq!(read(&whole, &net, "the whole file").unwrap(), read(&whole, &net, "again").unwrap());
        for len in 0..whole.len() {
            let err = read(&whole[..len], &net, &format!("{dtype} cut at {len}")).unwrap_err();
            assert!(matches!(err, AnnError::Persistence(_)), "cut at {len}: {err}");
        }
        // One byte too many is as wrong as one too few.
        let mut longer = whole.clone();
        longer.push(0);
        assert!(read(&longer, &net, "one byte more").is_err());
    }
}

#[test]
fn every_flipped_byte_is_an_error_or_a_network() {
    let net = template();
    let whole = to_safetensors(&net, Dtype::F32).unwrap();
    let (mut errors, mut networks) = (0, 0);
    for i in 0..whole.len() {
        for mask in [0x01u8, 0x20, 0x80, 0xff] {
            let mut bad = whole.clone();
            bad[i] ^= mask;
            match read(&bad, &net, &format!("byte {i} ^ {mask:#04x}")) {
                Ok(_) => networks += 1,
                Err(_) => errors += 1,
            }
        }
    }
    // A flip in the data gives other weights (or a NaN: an error); most flips in the header
    // break it. Both outcomes occur.
    assert!(errors > 0 && networks > 0, "{errors} errors, {networks} networks");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let net = template();
        prop_assert!(read(&bytes, &net, "random bytes").is_err());
    }

    /// A well-formed length prefix and a header of JSON-like text with tensor names of the
    /// template: the parser's and the importer's checks, not the first 8 bytes, decide.
    #[test]
    fn random_headers_never_panic(
        entries in prop::collection::vec(
            (
                prop::sample::select(vec!["0.weight", "0.bias", "1.running_var", "1.num_batches_tracked", "4.weight", "x"]),
                prop::sample::select(vec!["F32", "F64", "F16", "BF16", "I64", "U8", "BOOL", "F4", "Q"]),
                prop::collection::vec(0usize..6, 0..3),
                0usize..64,
                0usize..64,
            ),
            0..5,
        ),
        tail in 0usize..200,
        metadata in prop::option::of(".{0,20}"),
    ) {
        let mut header: Vec<String> = entries
            .iter()
            .map(|(name, dtype, shape, a, b)| {
                format!("\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{a},{b}]}}")
            })
            .collect();
        if let Some(m) = metadata {
            header.push(format!("\"__metadata__\":{{\"architecture\":{}}}", serde_json::to_string(&m).unwrap()));
        }
        let header = format!("{{{}}}", header.join(","));
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        bytes.extend((0..tail).map(|i| (i * 37 % 256) as u8));
        let _ = read(&bytes, &template(), &format!("header {header} and {tail} bytes"));
    }
}
