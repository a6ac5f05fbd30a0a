//! `stance score` under faults: killed with SIGKILL at random points of one
//! run and resumed each time, and an output disk that fills up (a file size
//! limit, `/dev/full`) and is freed again. Every case must end with the bytes
//! of an uninterrupted run: nothing lost, nothing written twice.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::cli_score::{documents, jsonl_of, score_in};
use crate::helpers::{fixture_model_path, stance_cmd, stderr};

/// Kill points in one run.
const KILLS: usize = 20;
/// Input records for the kill tests: 9.1 MB of JSONL, 196 batches of 256
/// records, so a run writes often enough to be stopped 20 times.
const KILL_DOCS: usize = 50_000;

/// `stance score --model <fixture> <args>` in `dir`, not yet started.
fn score_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = stance_cmd();
    c.current_dir(dir)
        .args(["score", "--model", fixture_model_path().to_str().unwrap()])
        .args(args);
    c
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Complete records in an output that is a prefix of `expected`: lines with
/// their break (the fixture's texts hold none), less a CSV header.
fn complete_records(got: &[u8], csv: bool) -> usize {
    let lines = got.iter().filter(|&&b| b == b'\n').count();
    if csv {
        lines.saturating_sub(1)
    } else {
        lines
    }
}

/// Polls the output until it holds at least `target` bytes. Panics if the
/// run ends first (it must still be running to be killed).
fn wait_for_size(child: &mut Child, path: &Path, target: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while file_len(path) < target {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what}: the run ended ({status}) before its output reached {target} bytes: make the input larger");
        }
        assert!(
            Instant::now() < deadline,
            "{what}: output stuck at {} bytes for 30 s",
            file_len(path)
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Runs `stance score <args> -o <out> --resume` and kills it with SIGKILL,
/// [`KILLS`] times in a row (the first run starts the missing output), then
/// lets one more `--resume` finish, and compares the output with an
/// uninterrupted run's, byte for byte. After every kill the output must be a
/// byte prefix of the uninterrupted one (complete records in order, at most
/// one torn record at the end).
///
/// Kill points, drawn from `seed`: three in four once the output has grown
/// past a random size (sizes spread over the first 85% of the output, each at
/// least one byte past what the previous runs left), the others after a
/// random delay of 0-19 ms from the start, which mostly lands while the run
/// loads the model or scans and truncates the output it resumes.
fn kill_and_resume(case: &str, dir: &Path, args: &[&str], out: &str, seed: u64) {
    let csv = args.contains(&"csv");
    let full_name = format!("full-{out}");
    let full = score_in(dir, &[args, &["-o", &full_name]].concat());
    assert!(
        full.status.success(),
        "{case}: uninterrupted run: {}",
        stderr(&full)
    );
    let expected = std::fs::read(dir.join(&full_name)).unwrap();

    let mut rng = StdRng::seed_from_u64(seed);
    let top = expected.len() as u64 * 85 / 100;
    let mut targets: Vec<u64> = (0..KILLS).map(|_| rng.gen_range(1..top)).collect();
    targets.sort_unstable();

    let out_path = dir.join(out);
    let resume_args = [args, &["-o", out, "--resume"]].concat();
    let (mut by_delay, mut torn) = (0, 0);
    let started = Instant::now();
    for (k, target) in targets.into_iter().enumerate() {
        let what = format!("{case}: kill {}", k + 1);
        let before = file_len(&out_path);
        let mut child = score_cmd(dir, &resume_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if rng.gen_bool(0.25) {
            by_delay += 1;
            std::thread::sleep(Duration::from_millis(rng.gen_range(0..20)));
        } else {
            wait_for_size(&mut child, &out_path, target.max(before + 1), &what);
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "{what}: the run ended before it was killed ({status}): make the input larger"
        );
        let got = std::fs::read(&out_path).unwrap_or_default();
        assert!(
            expected.starts_with(&got),
            "{what}: the output ({} bytes) is not a prefix of the uninterrupted run's",
            got.len()
        );
        if !got.is_empty() && !got.ends_with(b"\n") {
            torn += 1;
        }
    }
    let kept = std::fs::read(&out_path).unwrap_or_default();
    let complete = complete_records(&kept, csv);
    assert!(
        kept.len() < expected.len(),
        "{case}: nothing left to resume after {KILLS} kills: make the input larger"
    );

    let last = score_in(dir, &resume_args);
    assert!(
        last.status.success(),
        "{case}: final resume: {}",
        stderr(&last)
    );
    assert!(
        stderr(&last).contains(&format!("skipped={complete} ")),
        "{case}: the final resume must keep the {complete} complete records: {}",
        stderr(&last)
    );
    let resumed = std::fs::read(&out_path).unwrap();
    assert!(
        resumed == expected,
        "{case}: output after {KILLS} kills and resumes ({} bytes) differs from an uninterrupted run ({} bytes)",
        resumed.len(),
        expected.len()
    );
    eprintln!(
        "{case}: {KILLS} SIGKILLs ({by_delay} after a delay, {} at an output size) in {:.1} s; {torn} left a torn record; {complete} records kept before the last resume; output {} bytes, identical",
        KILLS - by_delay,
        started.elapsed().as_secs_f64(),
        expected.len()
    );
}

#[test]
fn sigkill_at_20_random_points_then_resume_gives_the_uninterrupted_jsonl_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&documents(KILL_DOCS))).unwrap();
    kill_and_resume(
        "jsonl",
        dir.path(),
        &["-i", "in.jsonl", "-j", "2"],
        "out.jsonl",
        20261206,
    );
}

#[test]
fn sigkill_at_20_random_points_then_resume_gives_the_uninterrupted_csv_paragraphs_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&documents(KILL_DOCS))).unwrap();
    kill_and_resume(
        "csv --paragraphs",
        dir.path(),
        &[
            "-i",
            "in.jsonl",
            "-j",
            "2",
            "--format",
            "csv",
            "--paragraphs",
        ],
        "out.csv",
        7,
    );
}

/// There is no kill test mid-write of a compressed output because `stance
/// score` writes none: an output named `.gz` or `.zst` gets plain records.
/// This fails when that changes, so the kill test gets written then.
#[test]
fn compressed_outputs_are_not_written_so_a_kill_mid_compression_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&documents(10))).unwrap();
    for out in ["out.jsonl.gz", "out.jsonl.zst"] {
        let run = score_in(dir.path(), &["-i", "in.jsonl", "-o", out]);
        assert!(run.status.success(), "{out}: {}", stderr(&run));
        let got = std::fs::read(dir.path().join(out)).unwrap();
        assert!(
            got.starts_with(b"{\"id\":"),
            "{out}: stance score now writes compressed output: add a test killing it mid-write of a compressed output and resuming"
        );
    }
    eprintln!(
        "SKIPPED: SIGKILL mid-write of a compressed output: stance score writes no compressed output (an output named .gz or .zst holds plain records)"
    );
}

/// Runs `cmd` with a file size limit of `limit` bytes, which makes writes
/// past it fail as on a full disk. With `ignore_sigxfsz` the write fails with
/// EFBIG; without it the kernel kills the process with SIGXFSZ, right after
/// a write cut at the limit (a torn record).
fn output_with_size_limit(mut cmd: Command, limit: u64, ignore_sigxfsz: bool) -> Output {
    // SAFETY: between fork and exec the closure calls only signal(2) and
    // setrlimit(2), which are async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if ignore_sigxfsz && libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR {
                return Err(std::io::Error::last_os_error());
            }
            let rlim = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

/// A byte offset near `fraction` of `bytes` that falls inside a record
/// (`inside`) or just after a record's line break.
fn cut_near(bytes: &[u8], fraction: f64, inside: bool) -> u64 {
    let at = (bytes.len() as f64 * fraction) as usize;
    let after_break = at + bytes[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
    if inside {
        after_break as u64 - 9
    } else {
        after_break as u64
    }
}

#[test]
fn a_full_disk_exits_2_naming_the_output_and_resume_completes_it_once_freed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&documents(3000))).unwrap();
    let jsonl: &[&str] = &["-i", "in.jsonl", "-j", "2"];
    let csv: &[&str] = &[
        "-i",
        "in.jsonl",
        "-j",
        "2",
        "--format",
        "csv",
        "--paragraphs",
    ];
    // (case, args, output, where the limit falls: fraction of the output, inside a record?)
    let cases: [(&str, &[&str], &str, f64, bool); 4] = [
        ("jsonl, limit inside a record", jsonl, "a.jsonl", 0.4, true),
        ("jsonl, limit at a record end", jsonl, "b.jsonl", 0.6, false),
        ("csv, limit inside the header", csv, "c.csv", 0.0, true),
        ("csv, limit inside a record", csv, "d.csv", 0.5, true),
    ];
    for (case, args, out, fraction, inside) in cases {
        let is_csv = args.contains(&"csv");
        let full_name = format!("full-{out}");
        let full = score_in(dir.path(), &[args, &["-o", &full_name]].concat());
        assert!(full.status.success(), "{case}: {}", stderr(&full));
        let expected = std::fs::read(dir.path().join(&full_name)).unwrap();
        let limit = cut_near(&expected, fraction, inside);
        let out_path = dir.path().join(out);

        // The disk fills up during the run, and is still full when the
        // first --resume is tried.
        let mut after_failure = None;
        for attempt in ["run", "resume while still full"] {
            let resume: &[&str] = if attempt == "run" { &[] } else { &["--resume"] };
            let cmd = score_cmd(dir.path(), &[args, &["-o", out], resume].concat());
            let run = output_with_size_limit(cmd, limit, true);
            let err = stderr(&run);
            assert_eq!(run.status.code(), Some(2), "{case}, {attempt}: {err}");
            assert!(
                err.contains(&format!("error: cannot write {out} (its complete records are kept"))
                    && err.contains("rerun with --resume")
                    && err.contains("File too large"),
                "{case}, {attempt}: the message must name the output, the cause and --resume: {err}"
            );
            let got = std::fs::read(&out_path).unwrap();
            assert!(
                expected.starts_with(&got) && got.len() as u64 <= limit,
                "{case}, {attempt}: the output ({} bytes, limit {limit}) is not a prefix of the uninterrupted run's",
                got.len()
            );
            assert!(
                got.is_empty() || got.ends_with(b"\n"),
                "{case}, {attempt}: the output must be cut back to its last complete record"
            );
            if let Some(previous) = &after_failure {
                assert!(
                    &got == previous,
                    "{case}, {attempt}: a resume on a full disk must keep what the output held"
                );
            }
            after_failure = Some(got);
        }

        // Space freed: the limit is gone.
        let complete = complete_records(&after_failure.unwrap_or_default(), is_csv);
        let run = score_in(dir.path(), &[args, &["-o", out, "--resume"]].concat());
        assert!(run.status.success(), "{case}: resume: {}", stderr(&run));
        assert!(
            stderr(&run).contains(&format!("skipped={complete} ")),
            "{case}: resume must keep the {complete} complete records: {}",
            stderr(&run)
        );
        assert!(
            std::fs::read(&out_path).unwrap() == expected,
            "{case}: resumed output differs from an uninterrupted run"
        );
    }
}

#[test]
fn a_run_killed_by_sigxfsz_mid_record_leaves_a_torn_record_that_resume_drops() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&documents(3000))).unwrap();
    let cases: [(&str, &[&str], &str); 2] = [
        ("jsonl", &["-i", "in.jsonl", "-j", "2"], "out.jsonl"),
        (
            "csv --paragraphs",
            &[
                "-i",
                "in.jsonl",
                "-j",
                "2",
                "--format",
                "csv",
                "--paragraphs",
            ],
            "out.csv",
        ),
    ];
    for (case, args, out) in cases {
        let full_name = format!("full-{out}");
        let full = score_in(dir.path(), &[args, &["-o", &full_name]].concat());
        assert!(full.status.success(), "{case}: {}", stderr(&full));
        let expected = std::fs::read(dir.path().join(&full_name)).unwrap();
        let limit = cut_near(&expected, 0.45, true);

        let cmd = score_cmd(dir.path(), &[args, &["-o", out]].concat());
        let run = output_with_size_limit(cmd, limit, false);
        assert_eq!(
            run.status.signal(),
            Some(libc::SIGXFSZ),
            "{case}: {}",
            stderr(&run)
        );
        let got = std::fs::read(dir.path().join(out)).unwrap();
        assert_eq!(got.len() as u64, limit, "{case}: written up to the limit");
        assert!(
            expected.starts_with(&got) && !got.ends_with(b"\n"),
            "{case}: the output must end with a torn record"
        );

        let complete = complete_records(&got, args.contains(&"csv"));
        let run = score_in(dir.path(), &[args, &["-o", out, "--resume"]].concat());
        assert!(run.status.success(), "{case}: resume: {}", stderr(&run));
        assert!(
            stderr(&run).contains(&format!("skipped={complete} ")),
            "{case}: resume must keep the {complete} complete records: {}",
            stderr(&run)
        );
        assert!(
            std::fs::read(dir.path().join(out)).unwrap() == expected,
            "{case}: resumed output differs from an uninterrupted run"
        );
    }
}

#[test]
fn a_device_without_space_exits_2_naming_the_output() {
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIPPED: a_device_without_space_exits_2_naming_the_output: no /dev/full on this system");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), jsonl_of(&documents(300))).unwrap();
    for format in ["jsonl", "csv"] {
        let run = score_in(
            dir.path(),
            &["-i", "in.jsonl", "--format", format, "-o", "/dev/full"],
        );
        let err = stderr(&run);
        assert_eq!(run.status.code(), Some(2), "{format}: {err}");
        assert!(
            err.contains("error: cannot write /dev/full")
                && err.contains("No space left on device"),
            "{format}: the message must name the output and the cause: {err}"
        );
    }
}
