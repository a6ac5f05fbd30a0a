//! Integration tests: one binary, one module per area. They run the real
//! `stance` binary on files and start the real server on port 0.

// Shared fixtures: tiny model, temp dirs, the built binary.
mod helpers;
// `stance train`, `eval`, `predict`, `tokenize`: good runs and every bad input.
mod cli_train;
// The shipped training data: the codebook's rules, checked line by line.
mod training_data;
// The training corpus as a whole: topic words, minimal pairs, registers.
mod corpus_balance;
// Every output the documentation shows is the shipped model's.
mod doc_examples;
// `stance sample` and `stance labels import`: the labeling round trip on files.
mod cli_adapt;
// The learner against linfa-logistic on small dense problems.
mod oracle_linfa;
// The model file: round trip, exact shape, corruption and version checks.
mod artifact;
// The same text gets the same probabilities via library, CLI, batch and HTTP.
mod parity;
// `stance score`: formats, compression, bad records, order, resume, shards.
mod cli_score;
// `stance report`: interval coverage, HTML, tables, refused inputs.
mod cli_report;
// `stance eval --html`, `stance train --html`: the model pages.
mod cli_model_report;
// `stance score` under faults: SIGKILL at random points, a full disk.
mod cli_score_faults;
// The JSON Schema subset checked against the OpenAPI document.
mod schema;
// HTTP service: endpoints, errors, reload, concurrency.
mod api;
// Perspective and Open Inference Protocol endpoints, API keys.
mod api_compat;
// The served OpenAPI document and the server agree on every request.
mod contract;
// Overload and slow clients against the real binary: 503, 408, 504, 413.
mod overload;
// The web page at `/`: files, headers, and API keys leaving it open.
mod web_page;
