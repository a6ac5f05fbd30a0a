//! `--resume`: reading back what an interrupted run wrote, crash-safely.
//!
//! The writer appends whole records, in input order, and nothing else, so
//! the output of a run killed at any moment is some number of complete
//! records followed by at most one torn record. Resuming trusts only
//! complete records: it counts them, truncates the torn tail away, and the
//! reader skips that many input records before appending the rest.
//!
//! - JSONL: a record is complete when its line break is there (records hold
//!   no raw line breaks).
//! - CSV: the header is written once, when the file is empty. A record is
//!   complete when it has every column and its line break; `model_checksum`
//!   is the last column and never quoted, so a record torn anywhere (even
//!   after a line break inside a quoted field) lacks a column or the break.
//!
//! A write that fails part way (a full disk, a file size limit) is undone
//! by [`append_whole`], so after such an error the file again ends with a
//! complete record; only a process killed mid-write leaves a torn tail.
//!
//! The model checksum of the existing records must equal the current
//! model's, so a resumed run never mixes scores of two models, and their
//! kept fields (`--keep-fields`) this run's, so every record has the same
//! keys or columns: JSONL records' keys other than the output's own, in
//! order, for the first and last record; the CSV header.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::error::BatchError;
use super::formats::OutputFormat;
use super::keep::{kept_keys_of_output, KeepFields};
use super::record::{csv_header, csv_header_line};

/// What an existing output holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Complete records (the header not counted).
    pub records: u64,
    /// Length in bytes of the complete part; anything after it is torn.
    pub valid_len: u64,
    /// Id of the last complete record, to check it against the input.
    pub last_id: Option<String>,
    /// The file holds no complete CSV header (it must be written).
    pub needs_header: bool,
}

/// Scans an existing output. `keep` and `checksum` are the current run's.
pub fn scan<R: Read + Seek>(
    r: R,
    path: &Path,
    format: OutputFormat,
    paragraphs: bool,
    keep: &KeepFields,
    checksum: &str,
) -> Result<Checkpoint, BatchError> {
    match format {
        OutputFormat::Jsonl => scan_jsonl(r, path, keep, checksum),
        OutputFormat::Csv => scan_csv(r, path, paragraphs, keep, checksum),
    }
}

/// Opens `path` to continue an interrupted run: scans it, truncates a torn
/// tail, writes the CSV header if missing, and returns the file positioned
/// for appending with what it holds. A missing file starts a fresh run.
pub fn open_for_resume(
    path: &Path,
    format: OutputFormat,
    paragraphs: bool,
    keep: &KeepFields,
    checksum: &str,
) -> Result<(File, Checkpoint), BatchError> {
    let io_err = |source| BatchError::Output {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err)?;
    let checkpoint = scan(
        BufReader::with_capacity(1 << 20, &mut file),
        path,
        format,
        paragraphs,
        keep,
        checksum,
    )?;
    file.set_len(checkpoint.valid_len).map_err(io_err)?;
    file.seek(SeekFrom::End(0)).map_err(io_err)?;
    if checkpoint.needs_header && format == OutputFormat::Csv {
        append_whole(&mut file, path, &csv_header_line(paragraphs, keep))?;
    }
    Ok((file, checkpoint))
}

/// Appends `bytes` (whole records, or the CSV header) to the output at its
/// current position. When the write fails part way (a full disk, a file size
/// limit), the file is cut back to its length before the write, so it ends
/// with a complete record again; shrinking needs no space. If even that
/// fails, the torn tail stays and `--resume` drops it.
pub fn append_whole(file: &mut File, path: &Path, bytes: &[u8]) -> Result<(), BatchError> {
    let before = file.stream_position().map_err(read_err(path))?;
    file.write_all(bytes).map_err(|source| {
        // The write error is the one to report; a failed cut only leaves
        // the torn tail that resume handles anyway.
        let _ = file.set_len(before);
        BatchError::OutputWrite {
            path: path.to_path_buf(),
            source,
        }
    })
}

fn not_resumable(path: &Path, detail: impl Into<String>) -> BatchError {
    BatchError::NotResumable {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn read_err(path: &Path) -> impl Fn(io::Error) -> BatchError + '_ {
    move |source| BatchError::Output {
        path: path.to_path_buf(),
        source,
    }
}

fn scan_jsonl<R: Read + Seek>(
    mut r: R,
    path: &Path,
    keep: &KeepFields,
    checksum: &str,
) -> Result<Checkpoint, BatchError> {
    let mut buf = vec![0u8; 1 << 20];
    let (mut offset, mut records) = (0u64, 0u64);
    // Offsets of the last two line breaks, and the first line's bytes.
    let (mut prev_nl, mut last_nl): (Option<u64>, Option<u64>) = (None, None);
    let mut first_line: Vec<u8> = Vec::new();
    loop {
        let n = r.read(&mut buf).map_err(read_err(path))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if records == 0 {
            let end = chunk.iter().position(|&b| b == b'\n').unwrap_or(n);
            first_line.extend_from_slice(&chunk[..end]);
        }
        for (i, _) in chunk.iter().enumerate().filter(|(_, &b)| b == b'\n') {
            records += 1;
            prev_nl = last_nl;
            last_nl = Some(offset + i as u64);
        }
        offset += n as u64;
    }
    let Some(last_nl) = last_nl else {
        return Ok(Checkpoint {
            records: 0,
            valid_len: 0,
            last_id: None,
            needs_header: false,
        });
    };
    let first = output_record(path, &first_line, 1, keep, checksum)?;
    let last_line = if records == 1 {
        first
    } else {
        let start = prev_nl.map_or(0, |p| p + 1);
        r.seek(SeekFrom::Start(start)).map_err(read_err(path))?;
        let mut line = vec![0u8; (last_nl - start) as usize];
        r.read_exact(&mut line).map_err(read_err(path))?;
        output_record(path, &line, records, keep, checksum)?
    };
    Ok(Checkpoint {
        records,
        valid_len: last_nl + 1,
        last_id: last_line,
        needs_header: false,
    })
}

/// Checks one complete JSONL output line and returns its id.
fn output_record(
    path: &Path,
    line: &[u8],
    n: u64,
    keep: &KeepFields,
    checksum: &str,
) -> Result<Option<String>, BatchError> {
    if line.first() != Some(&b'{') {
        return Err(not_resumable(
            path,
            format!("record {n} is not a JSON object: is the output CSV (then pass --format csv)?"),
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| {
        not_resumable(
            path,
            format!("record {n} is not a stance score record ({e})"),
        )
    })?;
    let found = v
        .get("model_checksum")
        .and_then(|c| c.as_str())
        .ok_or_else(|| {
            not_resumable(
                path,
                format!("record {n} has no model_checksum: not a stance score output"),
            )
        })?;
    if found != checksum {
        return Err(BatchError::ModelMismatch {
            path: path.to_path_buf(),
            found: found.to_string(),
            expected: checksum.to_string(),
        });
    }
    let kept = kept_keys_of_output(line).map_err(|e| {
        not_resumable(
            path,
            format!("record {n} is not a stance score record ({e})"),
        )
    })?;
    if kept != keep.names() {
        return Err(BatchError::KeepFieldsMismatch {
            path: path.to_path_buf(),
            found: kept.join(","),
            expected: keep.to_string(),
        });
    }
    Ok(v.get("id").and_then(|i| i.as_str()).map(str::to_string))
}

fn scan_csv<R: Read + Seek>(
    mut r: R,
    path: &Path,
    paragraphs: bool,
    keep: &KeepFields,
    checksum: &str,
) -> Result<Checkpoint, BatchError> {
    let total = r.seek(SeekFrom::End(0)).map_err(read_err(path))?;
    let ends_with_break = if total > 0 {
        r.seek(SeekFrom::End(-1)).map_err(read_err(path))?;
        let mut b = [0u8; 1];
        r.read_exact(&mut b).map_err(read_err(path))?;
        b[0] == b'\n'
    } else {
        false
    };
    r.seek(SeekFrom::Start(0)).map_err(read_err(path))?;
    let fresh = Checkpoint {
        records: 0,
        valid_len: 0,
        last_id: None,
        needs_header: true,
    };
    let expected = csv_header(paragraphs, keep);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(r);
    let mut rec = csv::ByteRecord::new();
    let csv_err = |e: csv::Error| not_resumable(path, format!("cannot read it as CSV: {e}"));
    // The header.
    if !rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        return Ok(fresh);
    }
    let header_end = rdr.position().byte();
    let header_complete = header_end < total || ends_with_break;
    if !header_complete {
        // Torn while writing the header: start again.
        return Ok(fresh);
    }
    if rec.get(0).is_some_and(|f| f.starts_with(b"{")) {
        return Err(not_resumable(
            path,
            "the output is JSONL (then pass --format jsonl)",
        ));
    }
    let found: Vec<String> = rec
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    if found != expected {
        if let Some(kept) = kept_columns(&found, paragraphs) {
            return Err(BatchError::KeepFieldsMismatch {
                path: path.to_path_buf(),
                found: kept.join(","),
                expected: keep.to_string(),
            });
        }
        return Err(not_resumable(
            path,
            format!(
                "its columns are [{}] but this run writes [{}] (--paragraphs/--explain and --keep-fields must match the first run)",
                found.join(","),
                expected.join(",")
            ),
        ));
    }
    let width = expected.len();
    let (mut records, mut valid_len, mut last_id) = (0u64, header_end, None);
    while rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        let end = rdr.position().byte();
        let is_last = end >= total;
        let complete = rec.len() == width && (!is_last || ends_with_break);
        if !complete {
            if is_last {
                break; // torn tail: truncated away
            }
            return Err(not_resumable(
                path,
                format!(
                    "record {} has {} columns, expected {width}",
                    records + 1,
                    rec.len()
                ),
            ));
        }
        let found = String::from_utf8_lossy(rec.get(width - 1).unwrap_or_default());
        if found != checksum {
            return Err(BatchError::ModelMismatch {
                path: path.to_path_buf(),
                found: found.into_owned(),
                expected: checksum.to_string(),
            });
        }
        records += 1;
        valid_len = end;
        last_id = rec.get(0).map(|f| String::from_utf8_lossy(f).into_owned());
    }
    Ok(Checkpoint {
        records,
        valid_len,
        last_id,
        needs_header: false,
    })
}

/// The kept columns of a CSV output header (those between `source` and
/// `label`), when its other columns are the ones this run writes.
fn kept_columns(header: &[String], paragraphs: bool) -> Option<&[String]> {
    let label = header.iter().position(|c| c == "label")?;
    let kept = header.get(2..label)?;
    let own = header.get(..2)?.iter().chain(header.get(label..)?);
    own.map(String::as_str)
        .eq(csv_header(paragraphs, &KeepFields::none()))
        .then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use io::Cursor;

    const SUM: &str = "sha256:abc";
    const NONE: KeepFields = KeepFields::none();

    fn line(id: &str) -> String {
        format!("{{\"id\":\"{id}\",\"label\":\"pro\",\"model_checksum\":\"{SUM}\"}}\n")
    }

    fn jsonl(bytes: &str) -> Result<Checkpoint, BatchError> {
        scan(
            Cursor::new(bytes.as_bytes().to_vec()),
            Path::new("out.jsonl"),
            OutputFormat::Jsonl,
            false,
            &NONE,
            SUM,
        )
    }

    #[test]
    fn counts_complete_jsonl_records_and_drops_a_torn_tail() {
        let full = format!("{}{}{}", line("a"), line("b"), line("c"));
        let cp = jsonl(&full).unwrap();
        assert_eq!(
            (cp.records, cp.valid_len, cp.last_id.as_deref()),
            (3, full.len() as u64, Some("c"))
        );
        // Cut at every byte: the complete records before the cut are kept.
        for cut in 0..full.len() {
            let cp = jsonl(&full[..cut]).unwrap();
            let complete = full[..cut].matches('\n').count() as u64;
            assert_eq!(cp.records, complete, "cut at {cut}");
            assert_eq!(
                &full[..cp.valid_len as usize],
                &full[..full[..cut].rfind('\n').map_or(0, |i| i + 1)]
            );
        }
    }

    #[test]
    fn refuses_jsonl_written_by_another_model() {
        let other = line("a").replace(SUM, "sha256:other");
        let err = jsonl(&format!("{}{}", line("x"), other)).unwrap_err();
        assert!(
            matches!(err, BatchError::ModelMismatch { ref found, .. } if found == "sha256:other"),
            "{err}"
        );
        assert!(matches!(
            jsonl(&other),
            Err(BatchError::ModelMismatch { .. })
        ));
    }

    #[test]
    fn refuses_outputs_that_are_not_score_records() {
        for bad in ["id,source\nx,y\n", "{\"a\": 1}\n", "{broken\n"] {
            assert!(
                matches!(jsonl(bad), Err(BatchError::NotResumable { .. })),
                "case {bad:?}"
            );
        }
    }

    fn csv_out(rows: &[&str]) -> String {
        let mut s = String::from_utf8(csv_header_line(false, &NONE)).unwrap();
        for r in rows {
            s.push_str(r);
        }
        s
    }

    fn csv_scan(bytes: &str) -> Result<Checkpoint, BatchError> {
        scan(
            Cursor::new(bytes.as_bytes().to_vec()),
            Path::new("out.csv"),
            OutputFormat::Csv,
            false,
            &NONE,
            SUM,
        )
    }

    #[test]
    fn counts_complete_csv_records_and_drops_a_torn_tail() {
        let row = |id: &str| format!("{id},in:1,pro,0.5,0.2,0.3,0.3,false,,m,1.0.0,{SUM}\n");
        let quoted = format!("\"q\nid\",in:2,,,,,,,\"bad\nline\",m,1.0.0,{SUM}\n");
        let full = csv_out(&[&row("a"), &quoted, &row("c")]);
        let cp = csv_scan(&full).unwrap();
        assert_eq!(
            (cp.records, cp.valid_len, cp.last_id.as_deref()),
            (3, full.len() as u64, Some("c"))
        );
        let header_len = csv_header_line(false, &NONE).len();
        let ends = [
            header_len,
            header_len + row("a").len(),
            header_len + row("a").len() + quoted.len(),
        ];
        for cut in 0..full.len() {
            let cp = csv_scan(&full[..cut]).unwrap();
            let expected = ends.iter().filter(|&&e| e <= cut).count() as u64;
            let expected_records = expected.saturating_sub(1);
            assert_eq!(cp.records, expected_records, "cut at {cut}");
            assert_eq!(cp.needs_header, cut < header_len, "cut at {cut}");
            let valid = ends.iter().rev().find(|&&e| e <= cut).copied().unwrap_or(0);
            assert_eq!(cp.valid_len, valid as u64, "cut at {cut}");
        }
    }

    #[test]
    fn refuses_csv_with_other_columns_or_model() {
        let with_paragraphs = String::from_utf8(csv_header_line(true, &NONE)).unwrap();
        assert!(matches!(
            csv_scan(&with_paragraphs),
            Err(BatchError::NotResumable { .. })
        ));
        let other = csv_out(&["a,in:1,pro,0.5,0.2,0.3,0.3,false,,m,1.0.0,sha256:zzz\n"]);
        assert!(matches!(
            csv_scan(&other),
            Err(BatchError::ModelMismatch { .. })
        ));
        assert!(matches!(
            csv_scan(&line("a")),
            Err(BatchError::NotResumable { .. })
        ));
    }

    #[test]
    fn an_empty_output_starts_afresh() {
        assert_eq!(jsonl("").unwrap().records, 0);
        let cp = csv_scan("").unwrap();
        assert!(cp.needs_header && cp.records == 0 && cp.valid_len == 0);
    }

    fn keep(names: &[&str]) -> KeepFields {
        let names = names.iter().map(|s| s.to_string()).collect();
        KeepFields::new(names, &crate::batch::FieldNames::default()).unwrap()
    }

    #[test]
    fn refuses_jsonl_written_with_other_kept_fields() {
        let kept = |id: &str, fields: &str| {
            format!("{{\"id\":\"{id}\",\"source\":\"s\"{fields},\"label\":\"pro\",\"model_checksum\":\"{SUM}\"}}\n")
        };
        let out = format!(
            "{}{}",
            kept("a", ",\"outlet\":\"G\",\"date\":null"),
            kept("b", ",\"outlet\":1,\"date\":\"d\"")
        );
        let scan_with = |bytes: &str, k: &KeepFields| {
            scan(
                Cursor::new(bytes.as_bytes().to_vec()),
                Path::new("out.jsonl"),
                OutputFormat::Jsonl,
                false,
                k,
                SUM,
            )
        };
        let cp = scan_with(&out, &keep(&["outlet", "date"])).unwrap();
        assert_eq!((cp.records, cp.last_id.as_deref()), (2, Some("b")));
        for other in [&["date", "outlet"][..], &["outlet"], &[]] {
            let err = scan_with(&out, &keep(other)).unwrap_err();
            assert!(
                matches!(err, BatchError::KeepFieldsMismatch { ref found, .. } if found == "outlet,date"),
                "case {other:?}: {err}"
            );
        }
        // Only the last record differs (a file appended to by another run).
        let mixed = format!("{}{}", kept("a", ",\"outlet\":\"G\""), line("b"));
        assert!(matches!(
            scan_with(&mixed, &keep(&["outlet"])),
            Err(BatchError::KeepFieldsMismatch { .. })
        ));
    }

    #[test]
    fn refuses_csv_written_with_other_kept_columns() {
        let k = keep(&["outlet"]);
        let header = String::from_utf8(csv_header_line(false, &k)).unwrap();
        let row = format!("a,in:1,G,pro,0.5,0.2,0.3,0.3,false,,m,1.0.0,{SUM}\n");
        let out = format!("{header}{row}");
        let scan_with = |k: &KeepFields, paragraphs: bool| {
            scan(
                Cursor::new(out.as_bytes().to_vec()),
                Path::new("out.csv"),
                OutputFormat::Csv,
                paragraphs,
                k,
                SUM,
            )
        };
        assert_eq!(scan_with(&k, false).unwrap().records, 1);
        let err = scan_with(&keep(&["date"]), false).unwrap_err();
        assert!(
            matches!(err, BatchError::KeepFieldsMismatch { ref found, ref expected, .. } if found == "outlet" && expected == "date"),
            "{err}"
        );
        assert!(matches!(
            scan_with(&NONE, false),
            Err(BatchError::KeepFieldsMismatch { .. })
        ));
        // Other columns differ too: the general refusal.
        assert!(matches!(
            scan_with(&keep(&["date"]), true),
            Err(BatchError::NotResumable { .. })
        ));
    }
}
