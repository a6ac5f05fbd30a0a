//! Shared test fixtures: a tiny trained model, temp dirs and the built binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use stance::StanceModel;

/// Path of the small labeled fixture file.
pub fn fixture_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny.jsonl")
}

/// A model trained once per test run on the fixture data, saved to a temp dir
/// that lives as long as the test binary. Returns its path.
pub fn fixture_model_path() -> &'static Path {
    static PATH: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = PATH.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tiny.json");
        train_fixture(&path);
        (dir, path)
    });
    p
}

/// Trains the fixture model (no cross-validation) and writes it to `path`.
pub fn train_fixture(path: &Path) {
    let data = stance::dataset::read_labeled(&fixture_data()).expect("fixture data");
    let params = stance::train::TrainParams {
        cv_folds: 0,
        tfidf: stance::features::TfidfParams::default(),
        ..Default::default()
    };
    let trained = stance::train::train(&params, &data, |_| {}).expect("train fixture");
    stance::artifact::save(&trained.model, path).expect("save fixture");
}

/// The fixture model, loaded through the library.
pub fn fixture_model() -> StanceModel {
    stance::artifact::load(fixture_model_path()).expect("load fixture model")
}

/// A command running the built `stance` binary.
pub fn stance_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stance"));
    c.env_remove("STANCE_MODEL").env("RUST_LOG", "warn");
    c
}

/// Runs `stance` with `args` in `dir` and returns its output.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    stance_cmd()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run stance")
}

/// Standard output as a string.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as a string.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
