//! The reader thread: cuts records out of every input, in order, picks this
//! shard's records, skips those a resumed output already holds, and sends
//! the rest downstream in batches.
//!
//! The reader does only cheap work (decompression, finding line ends, CSV
//! splitting); JSON parsing, UTF-8 checks and scoring happen in the workers.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::error::BatchError;
use super::formats::{self, CountingReader, InputFormat};
use super::keep::KeepFields;
use super::record::{FieldNames, Payload, RawRecord};
use super::shard::Shard;

/// A batch of raw records: `seq` numbers batches from 0 in output order.
#[derive(Debug)]
pub struct Batch {
    /// Position of this batch in the output.
    pub seq: u64,
    /// Its records, in input order.
    pub records: Vec<RawRecord>,
    /// Raw input bytes read when the batch was cut (progress once it is written).
    pub raw_mark: u64,
}

/// Why the reader stopped early.
#[derive(Debug)]
pub enum Halt {
    /// Downstream went away (the writer failed); its error is the one to report.
    Closed,
    /// A fatal error.
    Fatal(BatchError),
}

impl From<BatchError> for Halt {
    fn from(e: BatchError) -> Self {
        Halt::Fatal(e)
    }
}

/// What the reader needs to know.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Format of every file input (overrides names) and of standard input.
    pub input_format: Option<InputFormat>,
    /// Fields holding id and text.
    pub fields: FieldNames,
    /// Fields copied into the output (CSV columns are looked up here).
    pub keep: KeepFields,
    /// Which records to keep.
    pub shard: Shard,
    /// Kept records already in the output (`--resume`).
    pub skip: u64,
    /// Id of the last record already in the output, checked against the input.
    pub last_done_id: Option<String>,
    /// Records per batch.
    pub batch_records: usize,
    /// A batch is sent early once its records hold this many bytes.
    pub batch_bytes: usize,
}

/// Counters shared with the progress bar and the summary.
#[derive(Debug, Default)]
pub struct Counters {
    /// Raw bytes read from inputs (compressed size for compressed inputs).
    pub raw_bytes: Arc<AtomicU64>,
    /// Bytes of input after decompression.
    pub bytes: AtomicU64,
}

/// Selects and batches records, then hands each full batch to `send`.
pub struct Selector<'a, S: FnMut(Batch) -> bool> {
    opts: &'a ReadOptions,
    counters: &'a Counters,
    index: u64,
    kept: u64,
    seq: u64,
    batch: Vec<RawRecord>,
    batch_bytes: usize,
    send: S,
}

impl<'a, S: FnMut(Batch) -> bool> Selector<'a, S> {
    /// A selector sending batches through `send` (which returns `false` once
    /// downstream is gone).
    pub fn new(opts: &'a ReadOptions, counters: &'a Counters, send: S) -> Self {
        Self {
            opts,
            counters,
            index: 0,
            kept: 0,
            seq: 0,
            batch: Vec::with_capacity(opts.batch_records),
            batch_bytes: 0,
            send,
        }
    }

    /// Offers the next input record; `payload` is built only if it is kept.
    fn offer(
        &mut self,
        bytes: usize,
        source: impl FnOnce() -> String,
        payload: impl FnOnce() -> Payload,
    ) -> Result<(), Halt> {
        self.counters
            .bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        let index = self.index;
        self.index += 1;
        if !self.opts.shard.contains(index) {
            return Ok(());
        }
        self.kept += 1;
        if self.kept <= self.opts.skip {
            if self.kept == self.opts.skip {
                self.check_last_done(RawRecord {
                    source: source(),
                    payload: payload(),
                })?;
            }
            return Ok(());
        }
        self.batch_bytes += bytes;
        self.batch.push(RawRecord {
            source: source(),
            payload: payload(),
        });
        if self.batch.len() >= self.opts.batch_records || self.batch_bytes >= self.opts.batch_bytes
        {
            self.flush()?;
        }
        Ok(())
    }

    fn check_last_done(&self, rec: RawRecord) -> Result<(), Halt> {
        let Some(expected) = &self.opts.last_done_id else {
            return Ok(());
        };
        let id = match rec.parse(&self.opts.fields) {
            Ok((id, _)) => id.into_owned(),
            Err(bad) => bad.id,
        };
        if &id != expected {
            return Err(Halt::Fatal(BatchError::InputMismatch {
                detail: format!(
                    "the output's last record (number {}) has id {expected:?} but that input record has id {id:?} ({}): is this the same input, --shard and --id-field?",
                    self.opts.skip, rec.source
                ),
            }));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Halt> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let records =
            std::mem::replace(&mut self.batch, Vec::with_capacity(self.opts.batch_records));
        self.batch_bytes = 0;
        let seq = self.seq;
        self.seq += 1;
        let raw_mark = self.counters.raw_bytes.load(Ordering::Relaxed);
        if (self.send)(Batch {
            seq,
            records,
            raw_mark,
        }) {
            Ok(())
        } else {
            Err(Halt::Closed)
        }
    }

    /// Sends the last partial batch and checks a resumed output fits the input.
    pub fn finish(mut self) -> Result<(), Halt> {
        self.flush()?;
        if self.kept < self.opts.skip {
            return Err(Halt::Fatal(BatchError::InputMismatch {
                detail: format!(
                    "the output already holds {} records but the input has only {} (with this --shard): is this the same input?",
                    self.opts.skip, self.kept
                ),
            }));
        }
        Ok(())
    }

    /// Reads every input in order.
    pub fn read_all(&mut self, inputs: &[PathBuf]) -> Result<(), Halt> {
        for path in inputs {
            self.read_input(path)?;
        }
        Ok(())
    }

    fn read_input(&mut self, path: &Path) -> Result<(), Halt> {
        let input_err = |source| {
            Halt::Fatal(BatchError::Input {
                path: path.to_path_buf(),
                source,
            })
        };
        if path.as_os_str() == "-" {
            let format = self.opts.input_format.unwrap_or(InputFormat::Jsonl);
            let raw = CountingReader::new(io::stdin(), self.raw_counter());
            return self.read_from(path, "<stdin>", format, raw);
        }
        let meta = std::fs::metadata(path).map_err(input_err)?;
        if meta.is_dir() {
            if !self.opts.keep.is_empty() {
                return Err(Halt::Fatal(self.opts.keep.refuse_document(path.into())));
            }
            return self.read_dir(path, &[]);
        }
        let (format, compression) = match (formats::detect_file(path), self.opts.input_format) {
            (Ok(detected), None) => detected,
            (_, Some(format)) => (format, formats::compression_of(path)),
            (Err(e), None) => return Err(Halt::Fatal(e)),
        };
        let file = File::open(path).map_err(input_err)?;
        let raw = CountingReader::new(file, self.raw_counter());
        let decoded = formats::decoder(raw, compression).map_err(input_err)?;
        let name = path.display().to_string();
        if format == InputFormat::Txt {
            if !self.opts.keep.is_empty() {
                return Err(Halt::Fatal(self.opts.keep.refuse_document(path.into())));
            }
            let id = name.clone();
            return self.read_document(path, &name, id, decoded, true);
        }
        self.read_stream(path, &name, format, decoded)
    }

    /// Reads one stream, as standard input is read: its compression (gzip,
    /// zstd or none) sniffed from its first bytes, its records in `format`.
    /// `path` names it in errors, `name` in record sources (`name:line`).
    pub fn read_from<R: Read + Send + 'static>(
        &mut self,
        path: &Path,
        name: &str,
        format: InputFormat,
        raw: R,
    ) -> Result<(), Halt> {
        let input_err = |source| {
            Halt::Fatal(BatchError::Input {
                path: path.to_path_buf(),
                source,
            })
        };
        let mut raw = BufReader::with_capacity(1 << 20, raw);
        let compression = formats::sniff_stream(&mut raw).map_err(input_err)?;
        let decoded = formats::decoder(raw, compression).map_err(input_err)?;
        self.read_stream(path, name, format, decoded)
    }

    fn raw_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.counters.raw_bytes)
    }

    fn read_stream(
        &mut self,
        path: &Path,
        name: &str,
        format: InputFormat,
        decoded: Box<dyn Read + Send>,
    ) -> Result<(), Halt> {
        if format == InputFormat::Txt && !self.opts.keep.is_empty() {
            return Err(Halt::Fatal(self.opts.keep.refuse_document(path.into())));
        }
        match format {
            InputFormat::Jsonl => self.read_jsonl(path, name, decoded),
            InputFormat::Csv => self.read_csv(path, name, decoded),
            InputFormat::Txt => self.read_document(path, name, name.to_string(), decoded, true),
        }
    }

    fn read_jsonl(
        &mut self,
        path: &Path,
        name: &str,
        decoded: Box<dyn Read + Send>,
    ) -> Result<(), Halt> {
        let mut r = BufReader::with_capacity(1 << 20, decoded);
        let mut line = Vec::with_capacity(1 << 16);
        let mut line_no = 0u64;
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line).map_err(|source| {
                Halt::Fatal(BatchError::Input {
                    path: path.to_path_buf(),
                    source,
                })
            })?;
            if n == 0 {
                return Ok(());
            }
            line_no += 1;
            let mut end = line.len();
            while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            let body = &line[..end];
            if body.iter().all(u8::is_ascii_whitespace) {
                self.counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
                continue;
            }
            self.offer(
                n,
                || format!("{name}:{line_no}"),
                || Payload::JsonLine(body.to_vec()),
            )?;
        }
    }

    fn read_csv(
        &mut self,
        path: &Path,
        name: &str,
        decoded: Box<dyn Read + Send>,
    ) -> Result<(), Halt> {
        let (decoded, lines) = formats::LineIndexReader::new(decoded);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(decoded);
        let fatal = |e: csv::Error| {
            let source = match e.into_kind() {
                csv::ErrorKind::Io(e) => e,
                other => io::Error::new(io::ErrorKind::InvalidData, format!("{other:?}")),
            };
            Halt::Fatal(BatchError::Input {
                path: path.to_path_buf(),
                source,
            })
        };
        let header = rdr.byte_headers().map_err(fatal)?.clone();
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = String::from_utf8_lossy(h);
                let h = if i == 0 {
                    h.trim_start_matches('\u{feff}')
                } else {
                    &h
                };
                h.trim().to_string()
            })
            .collect();
        let fields = &self.opts.fields;
        let column = |name: &str| {
            names.iter().position(|n| n == name).ok_or_else(|| {
                Halt::Fatal(BatchError::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                    found: names.join(", "),
                })
            })
        };
        let text_col = column(&fields.text)?;
        let kept_cols = (self.opts.keep.names().iter())
            .map(|name| column(name))
            .collect::<Result<Vec<usize>, Halt>>()?;
        let id_col = names.iter().position(|n| *n == fields.id);
        let width = header.len();
        let mut rec = csv::ByteRecord::new();
        let mut consumed = rdr.position().byte();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    let pos = rdr.position().byte();
                    let bytes = (pos - consumed) as usize;
                    consumed = pos;
                    let line = rec
                        .position()
                        .map_or(0, |p| lines.borrow_mut().line_at(p.byte()));
                    let source = || format!("{name}:{line}");
                    if rec.len() != width {
                        let id = id_col
                            .and_then(|i| rec.get(i))
                            .map(|b| String::from_utf8_lossy(b).into_owned());
                        let message =
                            format!("row has {} fields but the header has {width}", rec.len());
                        self.offer(bytes, source, || Payload::Invalid { id, message })?;
                    } else {
                        let rec = &rec;
                        let kept_cols = &kept_cols;
                        self.offer(bytes, source, || Payload::Fields {
                            id: id_col.and_then(|i| rec.get(i)).map(<[u8]>::to_vec),
                            text: rec.get(text_col).unwrap_or_default().to_vec(),
                            kept: kept_cols
                                .iter()
                                .map(|&i| rec.get(i).unwrap_or_default().to_vec())
                                .collect(),
                        })?;
                    }
                }
                Err(e) if e.is_io_error() => return Err(fatal(e)),
                Err(e) => {
                    let line = e
                        .position()
                        .map_or(0, |p| lines.borrow_mut().line_at(p.byte()));
                    let message = format!("invalid CSV: {e}");
                    self.offer(
                        0,
                        || format!("{name}:{line}"),
                        || Payload::Invalid { id: None, message },
                    )?;
                }
            }
        }
    }

    /// One whole document. `fatal`: a read error stops the run (a file given
    /// on the command line) rather than giving an error record (a file in a directory).
    fn read_document(
        &mut self,
        path: &Path,
        source: &str,
        id: String,
        mut decoded: Box<dyn Read + Send>,
        fatal: bool,
    ) -> Result<(), Halt> {
        let mut text = Vec::new();
        match decoded.read_to_end(&mut text) {
            Ok(n) => self.offer(
                n,
                || source.to_string(),
                || Payload::Fields {
                    id: Some(id.into_bytes()),
                    text,
                    kept: Vec::new(),
                },
            ),
            Err(source_err) if fatal => Err(Halt::Fatal(BatchError::Input {
                path: path.to_path_buf(),
                source: source_err,
            })),
            Err(e) => self.offer(
                0,
                || source.to_string(),
                || Payload::Invalid {
                    id: Some(id),
                    message: format!("cannot read: {e}"),
                },
            ),
        }
    }

    /// The `.txt` documents under `dir`, depth first, each directory's entries
    /// sorted by name; `rel` is the path of `dir` below the input root.
    fn read_dir(&mut self, dir: &Path, rel: &[String]) -> Result<(), Halt> {
        let input_err = |source| {
            Halt::Fatal(BatchError::Input {
                path: dir.to_path_buf(),
                source,
            })
        };
        let mut entries: Vec<(String, PathBuf, bool)> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(input_err)? {
            let entry = entry.map_err(input_err)?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(input_err)?;
            // Directories are entered, symlinks to directories are not (no loops).
            let is_dir = file_type.is_dir();
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_dir || formats::is_txt_document(&path) {
                entries.push((name, path, is_dir));
            }
        }
        entries.sort();
        for (name, path, is_dir) in entries {
            let mut rel_path = rel.to_vec();
            rel_path.push(name);
            if is_dir {
                self.read_dir(&path, &rel_path)?;
                continue;
            }
            let id = rel_path.join("/");
            let source = path.display().to_string();
            let opened = File::open(&path).and_then(|f| {
                let raw = CountingReader::new(f, self.raw_counter());
                formats::decoder(raw, formats::compression_of(&path))
            });
            match opened {
                Ok(decoded) => self.read_document(&path, &source, id, decoded, false)?,
                Err(e) => self.offer(
                    0,
                    || source.clone(),
                    || Payload::Invalid {
                        id: Some(id),
                        message: format!("cannot read: {e}"),
                    },
                )?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(shard: Shard, skip: u64, last_done_id: Option<&str>) -> ReadOptions {
        ReadOptions {
            input_format: None,
            fields: FieldNames::default(),
            keep: KeepFields::none(),
            shard,
            skip,
            last_done_id: last_done_id.map(str::to_string),
            batch_records: 2,
            batch_bytes: 1 << 20,
        }
    }

    /// Reads `inputs` and returns (batch seq, ids) per batch; error records' ids end in `!`.
    fn read(opts: &ReadOptions, inputs: &[PathBuf]) -> Result<Vec<(u64, Vec<String>)>, Halt> {
        let counters = Counters::default();
        let mut batches = Vec::new();
        let mut sel = Selector::new(opts, &counters, |b: Batch| {
            let ids = b
                .records
                .iter()
                .map(|r| match r.parse(&opts.fields) {
                    Ok((id, _)) => id.into_owned(),
                    Err(bad) => format!("{}!", bad.id),
                })
                .collect();
            batches.push((b.seq, ids));
            true
        });
        sel.read_all(inputs)?;
        sel.finish()?;
        Ok(batches)
    }

    fn jsonl_file(dir: &Path, name: &str, ids: std::ops::Range<u32>) -> PathBuf {
        let body: String = ids
            .map(|i| format!("{{\"id\":\"r{i}\",\"text\":\"t\"}}\n\n"))
            .collect();
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path
    }

    fn flat(batches: &[(u64, Vec<String>)]) -> Vec<String> {
        batches.iter().flat_map(|b| b.1.clone()).collect()
    }

    #[test]
    fn batches_records_across_inputs_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = [
            jsonl_file(dir.path(), "a.jsonl", 0..3),
            jsonl_file(dir.path(), "b.jsonl", 3..5),
        ];
        let batches = read(&options(Shard::whole(), 0, None), &inputs).unwrap();
        let seqs: Vec<u64> = batches.iter().map(|b| b.0).collect();
        assert_eq!(seqs, [0, 1, 2]);
        assert_eq!(flat(&batches), ["r0", "r1", "r2", "r3", "r4"]);
    }

    #[test]
    fn shards_count_records_across_all_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = [
            jsonl_file(dir.path(), "a.jsonl", 0..3),
            jsonl_file(dir.path(), "b.jsonl", 3..7),
        ];
        let shard = Shard::new(2, 3).unwrap();
        let batches = read(&options(shard, 0, None), &inputs).unwrap();
        assert_eq!(flat(&batches), ["r1", "r4"]);
    }

    #[test]
    fn resume_skips_done_records_and_checks_the_last_id() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = [jsonl_file(dir.path(), "a.jsonl", 0..6)];
        let batches = read(&options(Shard::whole(), 4, Some("r3")), &inputs).unwrap();
        assert_eq!(flat(&batches), ["r4", "r5"]);
        let mismatch = read(&options(Shard::whole(), 4, Some("r9")), &inputs);
        assert!(matches!(
            mismatch,
            Err(Halt::Fatal(BatchError::InputMismatch { .. }))
        ));
        let too_many = read(&options(Shard::whole(), 7, None), &inputs);
        assert!(matches!(
            too_many,
            Err(Halt::Fatal(BatchError::InputMismatch { .. }))
        ));
    }

    #[test]
    fn reads_csv_rows_and_flags_short_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, "\u{feff}id,text\nc1,\"multi\nline\"\nc2\nc3,ok\n").unwrap();
        let batches = read(&options(Shard::whole(), 0, None), &[path]).unwrap();
        assert_eq!(flat(&batches), ["c1", "c2!", "c3"]);
    }

    #[test]
    fn reads_plain_gzip_and_zstd_streams_from_memory() {
        use std::io::Write;
        let jsonl = b"{\"id\":\"s1\",\"text\":\"t\"}\n\n{\"id\":\"s2\",\"text\":\"t\"}\n".to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&jsonl).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&jsonl[..], 1).unwrap();
        let opts = options(Shard::whole(), 0, None);
        for (case, bytes) in [("plain", jsonl.clone()), ("gzip", gz), ("zstd", zst)] {
            let counters = Counters::default();
            let mut sources = Vec::new();
            let mut sel = Selector::new(&opts, &counters, |b: Batch| {
                sources.extend(b.records.into_iter().map(|r| r.source));
                true
            });
            sel.read_from(
                Path::new("mem"),
                "mem",
                InputFormat::Jsonl,
                io::Cursor::new(bytes),
            )
            .unwrap();
            sel.finish().unwrap();
            assert_eq!(sources, ["mem:1", "mem:3"], "{case}");
        }
    }

    #[test]
    fn a_short_csv_row_with_a_blank_id_is_named_by_its_source() {
        // Found by the batch_streams fuzz target: the row `,,"mu...` has
        // three fields and an empty id; its error record had an empty id.
        let input: &[u8] = b"\xef\xbb\xbfid,text\x0ac1u\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbflti\x0aline\x22\x0ac2\x0ac3,\x22ok\x22\x22\x22\x0a,,\x22mu\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbflti\x0aline\x22\x0ac2\x0ac3,\x22ok\x22\x22\x22\x0a,\x22no\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbflti\x0aline\x22\x0ac2\x0ac3,\x22ok\x22\x22\x22\x0a,\x22no id\x22\x0a";
        let opts = options(Shard::whole(), 0, None);
        let counters = Counters::default();
        let mut bad = Vec::new();
        let mut sel = Selector::new(&opts, &counters, |b: Batch| {
            for r in b.records {
                if let Err(e) = r.parse(&opts.fields) {
                    bad.push((e.id, r.source));
                }
            }
            true
        });
        sel.read_from(
            Path::new("in.csv"),
            "in.csv",
            InputFormat::Csv,
            io::Cursor::new(input),
        )
        .unwrap();
        sel.finish().unwrap();
        assert!(!bad.is_empty());
        for (id, source) in &bad {
            assert!(!id.trim().is_empty(), "blank id for {source}");
        }
        assert!(
            bad.contains(&("in.csv:6".to_string(), "in.csv:6".to_string())),
            "{bad:?}"
        );
    }

    #[test]
    fn walks_directories_depth_first_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("docs");
        for rel in ["b.txt", "a/z.txt", "a/b.txt.gz", "c.md", "a0.txt"] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "text").unwrap();
        }
        let batches = read(&options(Shard::whole(), 0, None), &[root]).unwrap();
        // a/b.txt.gz is not gzip: an error record with its id, not a stop.
        assert_eq!(
            flat(&batches),
            ["a/b.txt.gz!", "a/z.txt", "a0.txt", "b.txt"]
        );
    }
}
