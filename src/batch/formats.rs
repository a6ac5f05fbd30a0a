//! Input and output formats of `stance score`, and transparent decompression.
//!
//! Inputs are told apart by name: `.jsonl`, `.ndjson` or `.json` (one JSON
//! object per line), `.csv` (with a header row), `.txt` (one document), each
//! optionally followed by `.gz` or `.zst`; a directory holds `.txt` documents.
//! Standard input (`-`) has no name: its format comes from `--input-format`
//! (default JSONL) and its compression from the stream's magic bytes.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::error::BatchError;

/// How the records of one input are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// The whole file (or each `.txt` file of a directory) is one document.
    Txt,
}

/// How the records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OutputFormat {
    /// One JSON object per line (the default).
    #[default]
    Jsonl,
    /// CSV with a header row.
    Csv,
}

/// Compression of an input stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (one or more members).
    Gzip,
    /// Zstandard.
    Zstd,
}

/// A format name that is not one of the allowed ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {found:?} (expected {expected})")]
pub struct UnknownFormatName {
    /// The name given.
    pub found: String,
    /// The allowed names.
    pub expected: &'static str,
}

impl FromStr for InputFormat {
    type Err = UnknownFormatName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" | "json" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            "txt" | "text" => Ok(Self::Txt),
            _ => Err(UnknownFormatName {
                found: s.to_string(),
                expected: "jsonl, csv or txt",
            }),
        }
    }
}

impl FromStr for OutputFormat {
    type Err = UnknownFormatName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            _ => Err(UnknownFormatName {
                found: s.to_string(),
                expected: "jsonl or csv",
            }),
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
            Self::Txt => "txt",
        })
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
        })
    }
}

/// Compression of a file, from its last extension.
pub fn compression_of(path: &Path) -> Compression {
    match extension(path).as_deref() {
        Some("gz") | Some("gzip") => Compression::Gzip,
        Some("zst") | Some("zstd") => Compression::Zstd,
        _ => Compression::None,
    }
}

/// Format and compression of a file from its name (`a.jsonl.gz` is gzipped
/// JSONL). Directories are not handled here.
pub fn detect_file(path: &Path) -> Result<(InputFormat, Compression), BatchError> {
    let compression = compression_of(path);
    let inner = match compression {
        Compression::None => path.to_path_buf(),
        _ => path.with_extension(""),
    };
    let format = match extension(&inner).as_deref() {
        Some("jsonl") | Some("ndjson") | Some("json") => InputFormat::Jsonl,
        Some("csv") => InputFormat::Csv,
        Some("txt") | Some("text") => InputFormat::Txt,
        _ => {
            return Err(BatchError::UnknownFormat {
                path: path.to_path_buf(),
            })
        }
    };
    Ok((format, compression))
}

/// Whether a file in a directory input is a document (`.txt`, `.txt.gz`, `.txt.zst`).
pub fn is_txt_document(path: &Path) -> bool {
    matches!(detect_file(path), Ok((InputFormat::Txt, _)))
}

/// Compression of a stream from its first bytes.
pub fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Sniffs the compression of a buffered stream without consuming anything.
pub fn sniff_stream<R: BufRead>(r: &mut R) -> io::Result<Compression> {
    Ok(sniff(r.fill_buf()?))
}

/// Wraps a raw stream in the decoder its compression needs.
pub fn decoder<R: Read + Send + 'static>(
    raw: R,
    compression: Compression,
) -> io::Result<Box<dyn Read + Send>> {
    Ok(match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(1 << 16, raw),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
    })
}

/// Counts the bytes read through it (raw, before decompression) for the progress bar.
#[derive(Debug)]
pub struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> CountingReader<R> {
    /// Adds every byte read from `inner` to `count`.
    pub fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        Self { inner, count }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Records where the line ends are in the bytes passing through it, so that
/// the line a CSV record starts on can be found from its byte offset. The
/// csv crate's `Position::line` is one short after every CRLF line end
/// (BurntSushi/rust-csv#395): its byte offsets are right, its line count
/// is not.
#[derive(Debug)]
pub struct LineIndexReader<R> {
    inner: R,
    offset: u64,
    table: std::rc::Rc<std::cell::RefCell<LineTable>>,
}

/// Line ends seen by a [`LineIndexReader`] and not yet passed by a query.
#[derive(Debug, Default)]
pub struct LineTable {
    passed: u64,
    ahead: std::collections::VecDeque<u64>,
}

impl LineTable {
    /// The 1-based line of the byte at `offset`. Queries must not go
    /// backwards. A line end at `offset` itself counts as passed: after
    /// CRLF the csv parser starts the next record on the `\n`.
    pub fn line_at(&mut self, offset: u64) -> u64 {
        while self.ahead.front().is_some_and(|&p| p <= offset) {
            self.ahead.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

impl<R> LineIndexReader<R> {
    /// Wraps `inner`; the returned table answers line queries.
    pub fn new(inner: R) -> (Self, std::rc::Rc<std::cell::RefCell<LineTable>>) {
        let table = std::rc::Rc::new(std::cell::RefCell::new(LineTable::default()));
        let reader = Self {
            inner,
            offset: 0,
            table: table.clone(),
        };
        (reader, table)
    }
}

impl<R: Read> Read for LineIndexReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut table = self.table.borrow_mut();
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, &b)| b == b'\n') {
            table.ahead.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn detects_format_and_compression_from_the_name() {
        let cases = [
            ("a.jsonl", InputFormat::Jsonl, Compression::None),
            ("a.ndjson", InputFormat::Jsonl, Compression::None),
            ("dir/a.JSON", InputFormat::Jsonl, Compression::None),
            ("a.csv", InputFormat::Csv, Compression::None),
            ("a.txt", InputFormat::Txt, Compression::None),
            ("a.jsonl.gz", InputFormat::Jsonl, Compression::Gzip),
            ("a.csv.zst", InputFormat::Csv, Compression::Zstd),
            ("a.b.txt.gz", InputFormat::Txt, Compression::Gzip),
        ];
        for (name, format, compression) in cases {
            let got = detect_file(Path::new(name)).ok();
            assert_eq!(got, Some((format, compression)), "case {name}");
        }
    }

    #[test]
    fn rejects_unknown_names() {
        for name in ["a.dat", "a", "a.gz", "a.parquet.zst"] {
            assert!(
                matches!(
                    detect_file(Path::new(name)),
                    Err(BatchError::UnknownFormat { .. })
                ),
                "case {name}"
            );
        }
    }

    #[test]
    fn recognises_directory_documents() {
        assert!(is_txt_document(Path::new("x/a.txt")));
        assert!(is_txt_document(Path::new("x/a.txt.zst")));
        assert!(!is_txt_document(Path::new("x/a.md")));
        assert!(!is_txt_document(Path::new("x/a.jsonl")));
    }

    #[test]
    fn parses_format_names() {
        assert_eq!("CSV".parse::<InputFormat>().ok(), Some(InputFormat::Csv));
        assert_eq!(
            "jsonl".parse::<OutputFormat>().ok(),
            Some(OutputFormat::Jsonl)
        );
        let err = "xml".parse::<OutputFormat>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown format \"xml\" (expected jsonl or csv)"
        );
    }

    #[test]
    fn line_index_finds_record_lines_whatever_the_line_ends() {
        use std::io::Read as _;
        // Lines: 1 header (CRLF), 2 a (LF), 3-4 b (quoted CRLF inside), 5 c.
        let text = b"id,text\r\na,x\nb,\"y\r\nz\"\r\nc,w\n";
        let (reader, table) = LineIndexReader::new(&text[..]);
        let mut rdr = csv::ReaderBuilder::new().from_reader(reader);
        let mut rec = csv::ByteRecord::new();
        let mut got = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            let byte = rec.position().unwrap().byte();
            got.push((rec[0].to_vec(), table.borrow_mut().line_at(byte)));
        }
        let want: Vec<(Vec<u8>, u64)> = [("a", 2), ("b", 3), ("c", 5)]
            .iter()
            .map(|(id, l)| (id.as_bytes().to_vec(), *l))
            .collect();
        assert_eq!(got, want);
        let (mut r, _) = LineIndexReader::new(&b"abc"[..]);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
    }

    #[test]
    fn sniffs_and_decodes_gzip_and_zstd_streams() {
        let text = b"{\"text\": \"hello\"}\n".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&text[..], 1).unwrap();
        for (name, bytes, expected) in [
            ("plain", text.clone(), Compression::None),
            ("gzip", gz, Compression::Gzip),
            ("zstd", zst, Compression::Zstd),
        ] {
            assert_eq!(sniff(&bytes), expected, "case {name}");
            let mut out = Vec::new();
            decoder(io::Cursor::new(bytes), expected)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, text, "case {name}");
        }
    }
}
