//! Saving and loading trained networks as versioned JSON.
//!
//! The file holds the format name, its version, the architecture (activations, loss,
//! normalizations), every parameter and, optionally, the optimizer's state. Loading checks all of it: another
//! version, a truncated or corrupted file, or weights whose shapes do not chain all give an
//! [`AnnError::Persistence`] or shape error, never a half-built network.

use crate::error::{AnnError, Result};
use crate::network::Network;
use crate::optim::Optimizer;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Name written into every file, so a random JSON file is not mistaken for a network.
pub const FORMAT: &str = "ann-scratch-network";
/// The version this build writes. It also reads version 1 and 2 files that hold no
/// optimizer: version 3 writes an optimizer's state as one set of averages per parameter, and
/// a layer's normalization as `normalization` (version 2's `batch_norm` is still read).
pub const VERSION: u32 = 3;

/// What a saved file contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedModel {
    /// Always [`FORMAT`].
    pub format: String,
    /// The file's format version ([`VERSION`] when written by this build).
    pub version: u32,
    /// The network (validated when read).
    pub network: Network,
    /// Optional optimizer (its rule, hyperparameters and state), for resuming training;
    /// when read, its state belongs to `network`.
    pub optimizer: Option<Optimizer>,
}

/// The first fields of every file this crate writes, read before the rest so that another
/// kind of file or another version is named as such.
#[derive(Deserialize)]
pub(crate) struct Header {
    format: Option<String>,
    version: Option<serde_json::Value>,
    #[serde(default)]
    optimizer: Option<serde::de::IgnoredAny>,
}

impl Header {
    /// Reads the header of `text`, a file of `format`; returns its version.
    pub(crate) fn read(text: &str, format: &str, what: &str) -> Result<(u64, Header)> {
        let bad = |m: String| AnnError::Persistence(m);
        let header: Header = serde_json::from_str(text)
            .map_err(|e| bad(format!("not a valid {what} (truncated or corrupted?): {e}")))?;
        if header.format.as_deref() != Some(format) {
            return Err(bad(format!("{what}: format is {:?}, expected {format:?}", header.format)));
        }
        match &header.version {
            Some(v) => match v.as_u64() {
                Some(n) => Ok((n, header)),
                None => Err(bad(format!("{what}: version {v} is not a version number"))),
            },
            None => Err(bad(format!("{what}: the file has no version"))),
        }
    }
}

impl SavedModel {
    /// Wraps a network (and optionally an optimizer) for saving.
    pub fn new(network: Network, optimizer: Option<Optimizer>) -> Self {
        SavedModel { format: FORMAT.to_string(), version: VERSION, network, optimizer }
    }

    /// Serializes to pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| AnnError::Persistence(format!("cannot serialize: {e}")))
    }

    /// Parses JSON written by [`SavedModel::to_json`], checking format, version and shapes.
    pub fn from_json(text: &str) -> Result<Self> {
        let (version, header) = Header::read(text, FORMAT, "network file")?;
        match version {
            v if v == u64::from(VERSION) => {}
            1 | 2 if header.optimizer.is_none() => {}
            v @ (1 | 2) => {
                return Err(AnnError::Persistence(format!(
                    "file version {v} holds an optimizer in a format this build no longer reads \
                     (its network would load: remove \"optimizer\" from the file)"
                )));
            }
            v => {
                return Err(AnnError::Persistence(format!(
                    "file version {v} is not supported by this build (reads version {VERSION})"
                )));
            }
        }
        let mut model: SavedModel = serde_json::from_str(text)
            .map_err(|e| AnnError::Persistence(format!("invalid network file: {e}")))?;
        model.version = VERSION;
        if let Some(optimizer) = &mut model.optimizer {
            optimizer.bind(&model.network)?;
        }
        Ok(model)
    }

    /// Writes the JSON to `path`, atomically: a save that fails at any point (a full disk, a
    /// killed process) leaves the file that was there before as it was (see [`write_atomic`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_text(path.as_ref(), &self.to_json()?)
    }

    /// Reads and validates the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json(&read_text(path.as_ref())?)
    }
}

/// Writes `text` to `path` atomically (see [`write_atomic`]).
pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |file| file.write_all(text.as_bytes()))
}

/// The text of the file at `path`; an unreadable file (or one that is not UTF-8) is an error
/// naming it.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| AnnError::Persistence(format!("cannot read {}: {e}", path.display())))
}

/// Writes `path` through `write`: into a temporary file in the same directory, flushed and
/// synced to the disk, then renamed over `path` (a rename within one directory replaces the
/// target in one step). If `write` or any later step fails, the temporary file is removed and
/// `path` keeps its previous contents; a missing directory is an error naming it.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> Result<()> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        AnnError::Persistence(format!("cannot save {}: {what}: {e}", path.display()))
    };
    let name = path.file_name().ok_or_else(|| fail("not a file name", &"no final component"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(fail("no such directory", &dir.display()));
    }
    // A name no other save uses at the same time: process id and a counter.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let result = File::create(&tmp)
        .map_err(|e| fail("cannot create a temporary file", &e))
        .and_then(|mut file| {
            write(&mut file).map_err(|e| fail("writing failed", &e))?;
            file.flush().and_then(|()| file.sync_all()).map_err(|e| fail("cannot sync", &e))
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| fail("cannot replace the file", &e)));
    if result.is_err() {
        std::fs::remove_file(&tmp).ok();
        return result;
    }
    // The rename itself reaches the disk with the directory entry; not every platform can
    // sync a directory, and the new file is complete either way.
    if let Ok(d) = File::open(dir) {
        d.sync_all().ok();
    }
    Ok(())
}

impl Network {
    /// Saves the network alone as versioned JSON, atomically (see [`SavedModel::save`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        SavedModel::new(self.clone(), None).save(path)
    }

    /// Loads a network saved by [`Network::save`] (or a [`SavedModel`] file).
    pub fn load(path: impl AsRef<Path>) -> Result<Network> {
        Ok(SavedModel::load(path)?.network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::init::Init;
    use crate::network::Task;
    use crate::optim::Optimizer;

    fn net() -> Network {
        Network::new(&[3, 5, 2], Activation::Tanh, Task::MultiClass, Init::Xavier, 4).unwrap()
    }

    #[test]
    fn round_trip_is_bit_identical_with_optimizer_state() {
        let n = net();
        let mut n2 = n.clone();
        let grads = crate::gradients::Gradients::zeros_like(&n);
        let configs: [crate::optim::OptimizerConfig; 5] = [
            crate::optim::SgdConfig::default().into(),
            crate::optim::MomentumConfig::default().into(),
            crate::optim::RmsPropConfig::default().into(),
            crate::optim::AdamConfig::default().into(),
            crate::optim::AdamWConfig::default().into(),
        ];
        for config in configs {
            let mut opt = Optimizer::new(config).unwrap();
            opt.step(&mut n2, &grads).unwrap();
            let saved = SavedModel::new(n2.clone(), Some(opt));
            let mut back = SavedModel::from_json(&saved.to_json().unwrap()).unwrap();
            assert_eq!(back, saved, "{config}");
            // The loaded state belongs to the loaded network: it goes on with it, and only it.
            let mut loaded = back.optimizer.take().unwrap();
            loaded.step(&mut back.network, &grads).unwrap();
            assert_eq!(loaded.state().t, 2);
            assert!(loaded.step(&mut n2, &grads).is_err());
        }
        let back = SavedModel::from_json(&SavedModel::new(n2.clone(), None).to_json().unwrap()).unwrap();
        assert_eq!(back.network, n2);
        let x = ndarray::array![[0.1, -2.0], [1.5, 0.3], [0.0, 7.0]];
        let (p1, p2) = (n2.predict_proba(x.view()).unwrap(), back.network.predict_proba(x.view()).unwrap());
        assert_eq!(p1.mapv(f64::to_bits), p2.mapv(f64::to_bits));
    }

    #[test]
    fn save_and_load_files() {
        let dir = std::env::temp_dir().join(format!("ann_persist_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("net.json");
        net().save(&path).unwrap();
        assert_eq!(Network::load(&path).unwrap(), net());
        assert!(matches!(Network::load(dir.join("missing.json")), Err(AnnError::Persistence(_))));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_failed_save_leaves_the_old_file_intact() {
        let dir = std::env::temp_dir().join(format!("ann_atomic_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("net.json");
        net().save(&path).unwrap();
        let before = std::fs::read(&path).unwrap();
        // A writer that fails half-way through, as a full disk would.
        let err = write_atomic(&path, |file| {
            file.write_all(&before[..before.len() / 2])?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full") && err.to_string().contains("net.json"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "the old file survives byte for byte");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("net.json")], "no temporary file is left");
        // A save that succeeds replaces the file whole.
        let other = Network::new(&[3, 4, 2], Activation::Relu, Task::MultiClass, Init::He, 9).unwrap();
        other.save(&path).unwrap();
        assert_eq!(Network::load(&path).unwrap(), other);
        // A missing directory is named in the error, and nothing is created.
        let missing = dir.join("no_such_dir").join("net.json");
        let err = net().save(&missing).unwrap_err();
        assert!(
            err.to_string().contains("no such directory") && err.to_string().contains("no_such_dir"),
            "{err}"
        );
        assert!(!dir.join("no_such_dir").exists());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let good = SavedModel::new(net(), None).to_json().unwrap();
        let truncated = &good[..good.len() / 2];
        assert!(SavedModel::from_json(truncated).unwrap_err().to_string().contains("truncated"));
        let other_version = good.replacen("\"version\": 3", "\"version\": 99", 1);
        assert!(SavedModel::from_json(&other_version).unwrap_err().to_string().contains("99"));
        // Version 1 and 2 files load when they hold no optimizer (its format changed since).
        for old in [1, 2] {
            let text = good.replacen("\"version\": 3", &format!("\"version\": {old}"), 1);
            assert_eq!(SavedModel::from_json(&text).unwrap().network, net());
            let mut with_adam: serde_json::Value = serde_json::from_str(&text).unwrap();
            with_adam["optimizer"] = serde_json::json!({"Adam": {"lr": 0.01}});
            let err = SavedModel::from_json(&with_adam.to_string()).unwrap_err().to_string();
            assert!(err.contains(&format!("version {old}")), "{err}");
        }
        // A version 2 file of a batch-normalized network: its layers named it "batch_norm".
        let normalized = net().with_normalization(crate::BatchNormConfig::default()).unwrap();
        let v3 = SavedModel::new(normalized.clone(), None).to_json().unwrap();
        let mut v2_bn: serde_json::Value =
            serde_json::from_str(&v3.replacen("\"version\": 3", "\"version\": 2", 1)).unwrap();
        let layer = v2_bn["network"]["layers"][0].as_object_mut().unwrap();
        let bn = layer.remove("normalization").unwrap()["BatchNorm"].clone();
        layer.insert("batch_norm".into(), bn);
        assert_eq!(SavedModel::from_json(&v2_bn.to_string()).unwrap().network, normalized);
        // Any other unknown field is an error naming it.
        let mut stray: serde_json::Value = serde_json::from_str(&good).unwrap();
        stray["network"]["layers"][0]["dropout"] = serde_json::json!(0.5);
        let err = SavedModel::from_json(&stray.to_string()).unwrap_err().to_string();
        assert!(err.contains("dropout"), "{err}");
        // An optimizer state whose shapes are not the network's.
        let mut small =
            Network::new(&[3, 4, 2], Activation::Tanh, Task::MultiClass, Init::Xavier, 4).unwrap();
        let mut opt = Optimizer::adam(0.01).unwrap();
        let grads = crate::gradients::Gradients::zeros_like(&small);
        opt.step(&mut small, &grads).unwrap();
        let mismatch = SavedModel::new(net(), Some(opt)).to_json().unwrap();
        let err = SavedModel::from_json(&mismatch).unwrap_err();
        assert!(matches!(err, AnnError::OptimizerState(_)), "{err}");
        let other_format = good.replacen(FORMAT, "something-else", 1);
        assert!(SavedModel::from_json(&other_format).is_err());
        assert!(SavedModel::from_json("[1, 2, 3]").is_err());
        assert!(SavedModel::from_json("").is_err());
        // Shapes that do not chain: W[2] must be (2, 5). Replace its shape header.
        let v: serde_json::Value = serde_json::from_str(&good).unwrap();
        let mut v2 = v.clone();
        v2["network"]["layers"][1]["w"]["dim"] = serde_json::json!([2, 4]);
        v2["network"]["layers"][1]["w"]["data"] = serde_json::json!([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let err = SavedModel::from_json(&v2.to_string()).unwrap_err();
        assert!(err.to_string().contains("W[2]"), "{err}");
        // Data that does not fill the declared shape.
        let mut v3 = v.clone();
        v3["network"]["layers"][0]["w"]["data"] = serde_json::json!([1.0]);
        assert!(SavedModel::from_json(&v3.to_string()).is_err());
        // A non-finite weight written as a string or null.
        let mut v4 = v;
        v4["network"]["layers"][0]["b"]["data"][0] = serde_json::Value::Null;
        assert!(SavedModel::from_json(&v4.to_string()).is_err());
    }
}
