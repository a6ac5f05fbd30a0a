//! The batch reader on any stream: plain, gzip or zstd (sniffed from the
//! first bytes, as for standard input), read as JSONL, CSV or one text
//! document (the first byte picks the format, the shard and the batch
//! size). Batches come numbered from 0, every kept record parses to an id
//! and text or a bad record, JSONL sources count lines upward, and a plain
//! JSONL or text stream never stops the run.
#![no_main]

use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::Ordering;

use libfuzzer_sys::fuzz_target;
use stance::batch::formats::{sniff, Compression};
use stance::batch::keep::KeepFields;
use stance::batch::reader::{Batch, Counters, Halt, ReadOptions, Selector};
use stance::batch::{FieldNames, InputFormat, Shard};

fuzz_target!(|data: &[u8]| {
    let [ctl, rest @ ..] = data else { return };
    let format = match ctl & 3 {
        0 | 1 => InputFormat::Jsonl,
        2 => InputFormat::Csv,
        _ => InputFormat::Txt,
    };
    let n = u64::from((ctl >> 2) & 3) + 1;
    let shard = Shard::new(n.min(2), n).expect("1 <= k <= n");
    let opts = ReadOptions {
        input_format: Some(format),
        fields: FieldNames::default(),
        keep: KeepFields::none(),
        shard,
        skip: 0,
        last_done_id: None,
        batch_records: usize::from(ctl >> 4) + 1,
        batch_bytes: 64,
    };
    let counters = Counters::default();
    let mut batches: Vec<Batch> = Vec::new();
    let mut sel = Selector::new(&opts, &counters, |b| {
        batches.push(b);
        true
    });
    let read = sel
        .read_from(
            Path::new("fuzz"),
            "fuzz",
            format,
            Cursor::new(rest.to_vec()),
        )
        .and_then(|()| sel.finish());
    let plain = sniff(rest) == Compression::None;
    match read {
        Ok(()) => {}
        Err(Halt::Fatal(e)) => {
            assert!(
                !(plain && format != InputFormat::Csv),
                "a plain {format} stream stopped the run: {e}"
            );
            assert!(!e.to_string().is_empty());
        }
        Err(Halt::Closed) => panic!("the sink never closes"),
    }
    if plain && format == InputFormat::Jsonl {
        assert_eq!(
            counters.bytes.load(Ordering::Relaxed),
            rest.len() as u64,
            "bytes counted"
        );
    }
    let mut prev_line = 0u64;
    for (i, b) in batches.iter().enumerate() {
        assert_eq!(b.seq, i as u64, "batch numbers");
        assert!(!b.records.is_empty(), "empty batch {i}");
        assert!(b.records.len() <= opts.batch_records, "batch {i} too large");
        for rec in &b.records {
            let (_, line) = rec.source.rsplit_once(':').unwrap_or((&rec.source, "0"));
            if format == InputFormat::Jsonl {
                let line: u64 = line.parse().expect("jsonl sources are name:line");
                assert!(line > prev_line, "line {line} after {prev_line}");
                prev_line = line;
            }
            match rec.parse(&opts.fields) {
                Ok((id, _text)) => assert!(!id.trim().is_empty()),
                Err(bad) => assert!(!bad.message.is_empty() && !bad.id.is_empty()),
            }
        }
    }
    if format == InputFormat::Txt {
        let records: usize = batches.iter().map(|b| b.records.len()).sum();
        assert!(records <= 1, "{records} records from one document");
    }
});
