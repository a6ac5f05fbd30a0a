//! Checks the shipped model before it is built into the binary: the file
//! named by `SHIPPED_MODEL` must be a model file whose checksum matches its
//! body, so a damaged or half-written model fails the build, not a user's
//! first command. Exports its path as `STANCE_SHIPPED_MODEL` for
//! `include_bytes!` in `src/artifact.rs`.

use sha2::{Digest, Sha256};

/// The shipped model, relative to the package root.
const SHIPPED_MODEL: &str = "models/sanctuary-v2.json";

fn main() {
    println!("cargo:rerun-if-changed={SHIPPED_MODEL}");
    println!("cargo:rustc-env=STANCE_SHIPPED_MODEL={SHIPPED_MODEL}");
    let bytes = match std::fs::read(SHIPPED_MODEL) {
        Ok(b) => b,
        Err(e) => panic!("{SHIPPED_MODEL}: {e}: the shipped model is built into the binary"),
    };
    let text = String::from_utf8_lossy(&bytes);
    let checksum = text
        .split("\"checksum\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("{SHIPPED_MODEL}: no checksum: not a stance model file"));
    let start = text
        .find("\"body\":")
        .unwrap_or_else(|| panic!("{SHIPPED_MODEL}: no body: not a stance model file"))
        + "\"body\":".len();
    let body = text[start..].trim_end();
    let body = body
        .strip_suffix('}')
        .unwrap_or_else(|| panic!("{SHIPPED_MODEL}: truncated"));
    let digest = Sha256::digest(body.as_bytes());
    let actual: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if checksum != format!("sha256:{actual}") {
        panic!("{SHIPPED_MODEL}: checksum mismatch (file says {checksum}, body hashes to sha256:{actual}): retrain or restore it");
    }
}
