//! Writing report files so that none is ever half-written: every file is
//! rendered in memory, written to a temporary file beside its target and
//! renamed over it only when all of them were written.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::aggregate::{aggregate, Aggregate, ValidReportParams};
use super::error::ReportError;
use super::{archive_page, groups};

/// Writes `files` (`(path, bytes)`) atomically, each one: temporary files
/// first (removed again on failure), then the renames.
pub fn write_files(files: &[(PathBuf, Vec<u8>)]) -> Result<(), ReportError> {
    let mut temps: Vec<PathBuf> = Vec::new();
    let result = (|| {
        for (path, bytes) in files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
            let err = |source| ReportError::Output {
                path: path.clone(),
                source,
            };
            temps.push(tmp.clone());
            let mut f = std::fs::File::create(&tmp).map_err(err)?;
            f.write_all(bytes).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        for ((path, _), tmp) in files.iter().zip(&temps) {
            std::fs::rename(tmp, path).map_err(|source| ReportError::Output {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    })();
    if result.is_err() {
        for t in &temps {
            let _ = std::fs::remove_file(t);
        }
    }
    result
}

/// Reads the inputs, then writes `report.html`, `groups.csv` and
/// `groups.json` into `dir` (created when missing). Nothing is written when
/// an input is refused.
pub fn write_archive_report(
    params: ValidReportParams,
    dir: &Path,
) -> Result<Aggregate, ReportError> {
    let agg = aggregate(params)?;
    let files = vec![
        (
            dir.join("report.html"),
            archive_page::render(&agg)?.into_bytes(),
        ),
        (dir.join("groups.csv"), groups::to_csv(&agg)?),
        (dir.join("groups.json"), groups::to_json(&agg)?),
    ];
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Output {
        path: dir.to_path_buf(),
        source,
    })?;
    write_files(&files)?;
    Ok(agg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_file_or_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let ok = vec![
            (dir.path().join("a.txt"), b"a".to_vec()),
            (dir.path().join("b.txt"), b"b".to_vec()),
        ];
        write_files(&ok).unwrap();
        assert_eq!(std::fs::read(dir.path().join("b.txt")).unwrap(), b"b");
        let bad = vec![
            (dir.path().join("a.txt"), b"new".to_vec()),
            (dir.path().join("missing/b.txt"), b"x".to_vec()),
        ];
        assert!(write_files(&bad).is_err());
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).unwrap(),
            b"a",
            "old file kept"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary left: {names:?}");
    }
}
