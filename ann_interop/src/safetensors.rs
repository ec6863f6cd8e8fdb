//! safetensors export and import.
