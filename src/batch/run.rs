//! The batch run: reader thread -> bounded queue of batches -> N scoring
//! workers -> reorder buffer -> writer, with a progress bar and a summary.
//!
//! Memory is bounded by [`Permits`]: at most `2 * threads + 2` batches (of at
//! most 256 records or 4 MB of input each) exist at any moment, whatever the
//! size of the archive.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::pipeline::{DocumentOptions, StanceModel};

use super::checkpoint;
use super::error::BatchError;
use super::formats::{InputFormat, OutputFormat};
use super::keep::KeepFields;
use super::reader::{Batch, Counters, Halt, ReadOptions, Selector};
use super::record::{csv_header_line, Encoder, FieldNames, ModelStamp};
use super::reorder::{PermitGiver, Permits, ReorderBuffer};
use super::shard::Shard;

/// Records per batch: large enough to amortise channel traffic, small enough
/// to keep every worker busy near the end of a run.
pub const BATCH_RECORDS: usize = 256;
/// A batch is cut early once its records hold this many input bytes.
pub const BATCH_BYTES: usize = 4 << 20;

/// Everything a batch run needs besides the model.
#[derive(Debug, Clone)]
pub struct BatchParams {
    /// Inputs in order: files, directories of `.txt` files, or `-` for standard input.
    pub inputs: Vec<PathBuf>,
    /// Input format for standard input and for files whose name says nothing (default: by name; JSONL for stdin).
    pub input_format: Option<InputFormat>,
    /// Output file; `None` writes to standard output.
    pub output: Option<PathBuf>,
    /// Output format (default JSONL).
    pub output_format: OutputFormat,
    /// Fields holding the text and the id.
    pub fields: FieldNames,
    /// Input fields copied into every output record (`--keep-fields`),
    /// checked by [`run`] (see [`KeepFields::new`]).
    pub keep_fields: Vec<String>,
    /// Scoring threads; 0 means one per core.
    pub threads: usize,
    /// Add paragraph scores to every record.
    pub paragraphs: bool,
    /// Terms to list per paragraph (implies `paragraphs` when > 0).
    pub explain: usize,
    /// Continue an interrupted run into `output`.
    pub resume: bool,
    /// Score only this slice of the input (default the whole input).
    pub shard: Shard,
    /// Draw a progress bar on standard error.
    pub progress: bool,
}

impl Default for BatchParams {
    fn default() -> Self {
        Self {
            inputs: Vec::new(),
            input_format: None,
            output: None,
            output_format: OutputFormat::Jsonl,
            fields: FieldNames::default(),
            keep_fields: Vec::new(),
            threads: 0,
            paragraphs: false,
            explain: 0,
            resume: false,
            shard: Shard::whole(),
            progress: false,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Output records written by this run (error records included).
    pub records: u64,
    /// Error records among them.
    pub errors: u64,
    /// Records skipped because the output already held them (`--resume`).
    pub skipped: u64,
    /// Input bytes read, after decompression.
    pub bytes: u64,
    /// Wall time of the run, model loading excluded.
    pub seconds: f64,
    /// Scoring threads used.
    pub threads: usize,
}

impl Summary {
    /// Input megabytes (10^6 bytes, after decompression) per second.
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds.max(1e-9)
    }

    /// Output records per second.
    pub fn records_per_s(&self) -> f64 {
        self.records as f64 / self.seconds.max(1e-9)
    }
}

impl fmt::Display for Summary {
    /// One line of `key=value` pairs, stable for scripts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "summary: records={} errors={} skipped={} seconds={:.3} mb={:.2} mb_per_s={:.2} records_per_s={:.1} threads={}",
            self.records,
            self.errors,
            self.skipped,
            self.seconds,
            self.bytes as f64 / 1e6,
            self.mb_per_s(),
            self.records_per_s(),
            self.threads
        )
    }
}

/// One scored batch on its way to the writer.
struct Scored {
    seq: u64,
    bytes: Vec<u8>,
    records: u64,
    errors: u64,
    raw_mark: u64,
}

/// Where output goes.
enum Target {
    Stdout,
    File(File, PathBuf),
}

/// Scores every input record with `model` and writes one output record per
/// input record, in input order. Bad records become error records and are
/// counted in the summary; only fatal problems (unreadable input or output,
/// a resume that does not fit) return an error.
pub fn run(model: &StanceModel, params: &BatchParams) -> Result<Summary, BatchError> {
    let start = Instant::now();
    let threads = match params.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let stamp = ModelStamp::of(model);
    let paragraphs = params.paragraphs || params.explain > 0;
    // Checked before the output is opened, so a refusal leaves it untouched.
    let keep = KeepFields::new(params.keep_fields.clone(), &params.fields)?;
    keep.check_inputs(&params.inputs, params.input_format)?;
    let (target, skip, last_done_id) = open_output(params, paragraphs, &keep, &stamp)?;
    let opts = ReadOptions {
        input_format: params.input_format,
        fields: params.fields.clone(),
        keep: keep.clone(),
        shard: params.shard,
        skip,
        last_done_id,
        batch_records: BATCH_RECORDS,
        batch_bytes: BATCH_BYTES,
    };
    let doc_opts = DocumentOptions {
        explain: params.explain,
        ..DocumentOptions::default()
    };
    let counters = Counters::default();
    let progress = progress_bar(params);

    let capacity = 2 * threads + 2;
    let (taker, giver) = Permits::new(capacity).split();
    let (work_tx, work_rx) = bounded::<Batch>(capacity);
    let (done_tx, done_rx) = bounded::<io::Result<Scored>>(capacity);

    let (read_result, write_result) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut selector = Selector::new(&opts, &counters, |batch| {
                taker.take() && work_tx.send(batch).is_ok()
            });
            let r = selector.read_all(&params.inputs);
            let r = r.and_then(|()| selector.finish());
            drop(work_tx);
            r
        });
        for _ in 0..threads {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            let (stamp, fields, keep) = (&stamp, &params.fields, &keep);
            scope.spawn(move || {
                let job = Job {
                    model,
                    stamp,
                    fields,
                    keep,
                    format: params.output_format,
                    paragraphs,
                    opts: &doc_opts,
                };
                worker(&job, work_rx, done_tx)
            });
        }
        drop(done_tx);
        drop(work_rx);
        let writer = scope.spawn(|| write_all(target, done_rx, giver, progress.as_ref()));
        let read = reader
            .join()
            .unwrap_or(Err(Halt::Fatal(BatchError::WorkerPanicked)));
        let write = writer.join().unwrap_or(Err(BatchError::WorkerPanicked));
        (read, write)
    });
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    let (records, errors) = write_result?;
    match read_result {
        Ok(()) => {}
        Err(Halt::Fatal(e)) => return Err(e),
        // The writer stopped first; it reported no error, so a worker died.
        Err(Halt::Closed) => return Err(BatchError::WorkerPanicked),
    }
    Ok(Summary {
        records,
        errors,
        skipped: skip,
        bytes: counters.bytes.load(Ordering::Relaxed),
        seconds: start.elapsed().as_secs_f64(),
        threads,
    })
}

/// Opens the output: fresh (truncated, CSV header written) or resumed.
fn open_output(
    params: &BatchParams,
    paragraphs: bool,
    keep: &KeepFields,
    stamp: &ModelStamp,
) -> Result<(Target, u64, Option<String>), BatchError> {
    let Some(path) = params.output.as_ref().filter(|p| p.as_os_str() != "-") else {
        if params.resume {
            return Err(BatchError::ResumeNeedsFile);
        }
        if params.output_format == OutputFormat::Csv {
            io::stdout()
                .lock()
                .write_all(&csv_header_line(paragraphs, keep))
                .map_err(|source| BatchError::Output {
                    path: PathBuf::from("-"),
                    source,
                })?;
        }
        return Ok((Target::Stdout, 0, None));
    };
    if params.resume {
        let (file, cp) = checkpoint::open_for_resume(
            path,
            params.output_format,
            paragraphs,
            keep,
            &stamp.checksum,
        )?;
        return Ok((Target::File(file, path.clone()), cp.records, cp.last_id));
    }
    let out_err = |source| BatchError::Output {
        path: path.clone(),
        source,
    };
    let mut file = File::create(path).map_err(out_err)?;
    if params.output_format == OutputFormat::Csv {
        checkpoint::append_whole(&mut file, path, &csv_header_line(paragraphs, keep))?;
    }
    Ok((Target::File(file, path.clone()), 0, None))
}

/// What every worker scores with, and how it writes.
struct Job<'a> {
    model: &'a StanceModel,
    stamp: &'a ModelStamp,
    fields: &'a FieldNames,
    keep: &'a KeepFields,
    format: OutputFormat,
    paragraphs: bool,
    opts: &'a DocumentOptions,
}

fn worker(job: &Job<'_>, work: Receiver<Batch>, done: Sender<io::Result<Scored>>) {
    for batch in work {
        let scored = score_batch(job, batch);
        if done.send(scored).is_err() {
            return;
        }
    }
}

fn score_batch(job: &Job<'_>, batch: Batch) -> io::Result<Scored> {
    let mut enc = Encoder::new(job.format, job.stamp, job.paragraphs, job.keep);
    let mut errors = 0;
    for rec in &batch.records {
        let parsed = rec.parse_keeping(job.fields, job.keep);
        let kept = parsed.kept.as_slice();
        match parsed.record {
            Ok((id, text)) => {
                // A scorer bug on one strange text must not end a long run.
                let scored = catch_unwind(AssertUnwindSafe(|| {
                    job.model.score_document(&text, job.opts)
                }));
                match scored {
                    Ok(Ok(score)) => enc.scored(&id, &rec.source, kept, &score)?,
                    Ok(Err(e)) => {
                        errors += 1;
                        enc.error(&id, &rec.source, kept, &e.to_string())?;
                    }
                    Err(_) => {
                        errors += 1;
                        let message = "internal error while scoring this text";
                        enc.error(&id, &rec.source, kept, message)?;
                    }
                }
            }
            Err(bad) => {
                errors += 1;
                enc.error(&bad.id, &rec.source, kept, &bad.message)?;
            }
        }
    }
    Ok(Scored {
        seq: batch.seq,
        bytes: enc.finish()?,
        records: batch.records.len() as u64,
        errors,
        raw_mark: batch.raw_mark,
    })
}

impl Target {
    /// Appends one batch of whole records. A file that fails part way is cut
    /// back to its last complete record ([`checkpoint::append_whole`]).
    fn append(&mut self, bytes: &[u8]) -> Result<(), BatchError> {
        match self {
            Target::Stdout => {
                io::stdout()
                    .lock()
                    .write_all(bytes)
                    .map_err(|source| BatchError::Output {
                        path: PathBuf::from("-"),
                        source,
                    })
            }
            Target::File(file, path) => checkpoint::append_whole(file, path, bytes),
        }
    }

    /// Flushes standard output (a file is written unbuffered).
    fn flush(&mut self) -> Result<(), BatchError> {
        match self {
            Target::Stdout => io::stdout()
                .lock()
                .flush()
                .map_err(|source| BatchError::Output {
                    path: PathBuf::from("-"),
                    source,
                }),
            Target::File(..) => Ok(()),
        }
    }

    fn path(&self) -> PathBuf {
        match self {
            Target::Stdout => PathBuf::from("-"),
            Target::File(_, path) => path.clone(),
        }
    }
}

/// Writes scored batches in sequence, one write of whole records per batch,
/// and gives a permit back for each.
fn write_all(
    mut out: Target,
    done: Receiver<io::Result<Scored>>,
    permits: PermitGiver,
    progress: Option<&ProgressBar>,
) -> Result<(u64, u64), BatchError> {
    let path = out.path();
    let out_err = |source| BatchError::Output {
        path: path.clone(),
        source,
    };
    let mut reorder = ReorderBuffer::new();
    let (mut records, mut errors) = (0u64, 0u64);
    for scored in done {
        let scored = scored.map_err(out_err)?;
        reorder
            .push(scored.seq, scored)
            .map_err(|e| out_err(io::Error::other(e.to_string())))?;
        while let Some(s) = reorder.pop() {
            out.append(&s.bytes)?;
            records += s.records;
            errors += s.errors;
            permits.give();
            if let Some(pb) = progress {
                pb.set_position(s.raw_mark);
                pb.set_message(format!("{records} records, {errors} errors"));
            }
        }
    }
    out.flush()?;
    if !reorder.is_empty() {
        // A batch never came back: a worker died.
        return Err(BatchError::WorkerPanicked);
    }
    Ok((records, errors))
}

/// A progress bar on standard error, with a length (hence ETA) when every
/// input is a plain file whose size is known.
fn progress_bar(params: &BatchParams) -> Option<ProgressBar> {
    if !params.progress {
        return None;
    }
    let total: Option<u64> = params
        .inputs
        .iter()
        .map(|p| input_size(p))
        .sum::<Option<u64>>();
    let pb = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {decimal_bytes} {decimal_bytes_per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    pb.enable_steady_tick(Duration::from_millis(200));
    Some(pb)
}

fn input_size(p: &Path) -> Option<u64> {
    if p.as_os_str() == "-" {
        return None;
    }
    let meta = std::fs::metadata(p).ok()?;
    meta.is_file().then_some(meta.len())
}
