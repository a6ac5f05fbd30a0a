//! Streams the records of `stance score` outputs (JSONL or CSV, plain,
//! `.gz` or `.zst`) one at a time, each with the line it starts on, so a
//! report never holds the records themselves.

use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::batch::formats::{decoder, detect_file};
use crate::batch::InputFormat;

use super::error::ReportError;
use super::scored::{from_csv, from_json, CsvColumns, ScoredRecord, Wanted};

/// Calls `each(line, record)` for every record of `path` in file order
/// (blank JSONL lines are skipped). A record that is not `stance score`
/// output stops the read with [`ReportError::BadRecord`] naming `file:line`.
pub fn for_each_record(
    path: &Path,
    wanted: &Wanted,
    mut each: impl FnMut(u64, ScoredRecord) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let input_err = |source: std::io::Error| ReportError::Input {
        path: path.to_path_buf(),
        source,
    };
    let unknown = || ReportError::UnknownFormat {
        path: path.to_path_buf(),
    };
    let (format, compression) = detect_file(path).map_err(|_| unknown())?;
    let file = std::fs::File::open(path).map_err(input_err)?;
    let reader = BufReader::with_capacity(1 << 16, decoder(file, compression).map_err(input_err)?);
    let bad = |line: u64, problem: String| ReportError::BadRecord {
        at: format!("{}:{line}", path.display()),
        problem,
    };
    match format {
        InputFormat::Jsonl => {
            let mut reader = reader;
            let mut buf = Vec::new();
            let mut line = 0u64;
            loop {
                buf.clear();
                if reader.read_until(b'\n', &mut buf).map_err(input_err)? == 0 {
                    return Ok(());
                }
                line += 1;
                let text = std::str::from_utf8(&buf).map_err(|e| {
                    bad(
                        line,
                        format!("line is not valid UTF-8 (at byte {})", e.valid_up_to()),
                    )
                })?;
                if text.trim().is_empty() {
                    continue;
                }
                each(line, from_json(text, wanted).map_err(|p| bad(line, p))?)?;
            }
        }
        InputFormat::Csv => {
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(reader);
            let csv_err = |e: csv::Error| {
                let line = e.position().map_or(1, csv::Position::line);
                match e.into_kind() {
                    csv::ErrorKind::Io(io) => input_err(io),
                    kind => bad(line, format!("invalid CSV: {kind:?}")),
                }
            };
            let header = rdr.headers().map_err(csv_err)?.clone();
            let cols =
                CsvColumns::new(&header, wanted).map_err(|column| ReportError::MissingColumn {
                    path: path.to_path_buf(),
                    column,
                    columns: header.iter().collect::<Vec<_>>().join(", "),
                })?;
            let mut row = csv::StringRecord::new();
            loop {
                if !rdr.read_record(&mut row).map_err(csv_err)? {
                    return Ok(());
                }
                let line = row.position().map_or(0, csv::Position::line);
                each(
                    line,
                    from_csv(&row, &cols, wanted.unit).map_err(|p| bad(line, p))?,
                )?;
            }
        }
        InputFormat::Txt => Err(unknown()),
    }
}
