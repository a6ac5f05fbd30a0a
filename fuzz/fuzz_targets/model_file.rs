//! The model-file loader on any bytes: a typed error or a model that scores.
//! Each input is tried twice: as a whole file, and as a model body sealed
//! in an envelope with its correct checksum, so mutations reach the body's
//! checks instead of all stopping at the checksum.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use stance::artifact::{from_bytes, sha256_hex, FORMAT, FORMAT_VERSION};
use stance::DocumentOptions;
use stance_fuzz::{check_document, check_probabilities};

const TEXTS: [&str; 4] = [
    "ICE ICE sheriff sheriff sanctuary sanctuary county county 287(g) 287(g) police police",
    "The county should stop honoring ICE detainers.\n\nThe sheriff said he will not cooperate with federal agents, ever.",
    "Sanctuary policies protect immigrant families; 287(g) agreements don't.",
    "Die Stadt — 1996 — n'a pas 🙂 ΣΊΣΥΦΟΣ",
];

fn try_model(bytes: &[u8]) {
    let model = match from_bytes(bytes, Path::new("fuzz.json")) {
        Ok(m) => m,
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with("fuzz.json: "),
                "error does not name the file: {msg}"
            );
            return;
        }
    };
    let opts = DocumentOptions {
        max_paragraph_chars: 40,
        explain: 3,
        ..DocumentOptions::default()
    };
    for text in TEXTS {
        check_probabilities(&model.score(text), "score");
        let doc = model
            .score_document(text, &opts)
            .expect("the texts are not blank");
        check_document(text, &opts, &doc);
    }
}

fuzz_target!(|data: &[u8]| {
    try_model(data);
    let mut sealed = format!(
        "{{\"format_version\":{FORMAT_VERSION},\"format\":\"{FORMAT}\",\"checksum\":\"{}\",\"body\":",
        sha256_hex(data)
    )
    .into_bytes();
    sealed.extend_from_slice(data);
    sealed.push(b'}');
    try_model(&sealed);
});
