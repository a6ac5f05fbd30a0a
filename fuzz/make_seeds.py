#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/seeds/<target>/ from the test fixture,
the documentation's request examples and a model trained on the fixture.
Run from the repository root after `cargo build --release`:
    python3 fuzz/make_seeds.py
Each seed is small; libFuzzer grows its own corpus in fuzz/corpus/ (not
committed). The first byte of most seeds is the target's control byte."""

import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


fixture = [json.loads(l) for l in open(os.path.join(ROOT, "tests/fixtures/tiny.jsonl"), encoding="utf-8")]
texts = [r["text"] for r in fixture]
doc = (
    "The sheriff said honoring ICE detainers keeps offenders off the streets.\n\n"
    "Café 😀 owners said families should not fear calling the police."
)
odd = "  \u2028Ünïcödé — “quoted”, don’t 287(g) 1,996.5 ΣΊΣΥΦΟΣ e\u0301 🇺🇸\r\n\tn't no not\u00a0never  "

# analyzer: control byte, then text.
for i, t in enumerate(texts[:6]):
    write("analyzer", f"fixture-{i}", bytes([i * 37 % 256]) + t.encode())
write("analyzer", "doc-example", b"\xe5" + doc.encode())
write("analyzer", "unicode", b"\x00" + odd.encode())
write("analyzer", "long-sentence", b"\x03" + ("word " * 60 + ". Short one. " * 5).encode())
write("analyzer", "invalid-utf8", b"\x21ok \xff\xfe caf\xc3 not honor\n\ndetainers")

# http_bodies: request bodies as the docs show them.
write("http_bodies", "score", json.dumps({"text": doc, "explain": 2}))
write("http_bodies", "score-batch", json.dumps({"documents": [
    {"id": "a1", "text": "The county board will meet Tuesday to review the jail budget."},
    {"id": "a2", "text": "   "}], "explain": 1}))
write("http_bodies", "perspective", json.dumps({
    "comment": {"text": "The council kept its sanctuary ordinance.", "type": "PLAIN_TEXT"},
    "requestedAttributes": {"STANCE_PRO_SANCTUARY": {}, "STANCE_ANTI_SANCTUARY@2.0.0": {"scoreThreshold": 0.5},
                            "STANCE_NEUTRAL": {"scoreType": "PROBABILITY"}},
    "spanAnnotations": True, "languages": ["en"], "doNotStore": True, "clientToken": "comment-53922",
    "sessionId": "s", "communityId": "c", "context": {"entries": [{"text": "ctx"}]},
    "dropUnsupportedAttributes": False}))
write("http_bodies", "suggest", json.dumps({
    "comment": {"text": "Sanctuary now."}, "attributeScores": {"STANCE_PRO_SANCTUARY": {"summaryScore": {"value": 0.9}}},
    "clientToken": "t"}))
write("http_bodies", "infer", json.dumps({"id": "req-1", "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES",
    "data": ["Sanctuary protections build trust.", "The board meets Tuesday."]}],
    "outputs": [{"name": "label"}, {"name": "probabilities"}]}))
elems = [b"Sanctuary now.", "Café 😀".encode()]
binary = b"".join(struct.pack("<I", len(e)) + e for e in elems)
header = json.dumps({"inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES",
                                 "parameters": {"binary_data_size": len(binary)}}]}).encode()
write("http_bodies", "infer-binary", struct.pack("<H", len(header)) + header + binary)

# batch_records: control byte, cut byte, then the record.
write("batch_records", "jsonl", b"\x00\x00" + json.dumps(fixture[0]).encode())
write("batch_records", "jsonl-custom-fields", b"\x24\x00" + json.dumps({"doc_id": 7, "body": doc, "text": 1}).encode())
write("batch_records", "jsonl-duplicates", b"\x10\x00" + b'{"id":"a","text":"x","id":null,"text":"Sanct\\u00fcary \\ud83d\\ude00"}')
write("batch_records", "fields", b"\x02\x03" + b"c42" + texts[1].encode())
write("batch_records", "fields-csv-out", b"\x32\x05" + b"id,\"\n" + "quoted \"text\", with, commas\r\n".encode())
write("batch_records", "invalid", b"\x03\x00" + b"short row")

# batch_streams: control byte, then the stream (plain, gzip or zstd).
jsonl = "".join(json.dumps(r) + "\n" for r in fixture[:4]) + "\n  \r\n" + '{"id": 5, "text": "x"}'
csv_text = "\ufeffid,text\nc1,\"multi\nline\"\nc2\nc3,\"ok\"\"\"\n,\"no id\"\n"
write("batch_streams", "jsonl", b"\x00" + jsonl.encode())
write("batch_streams", "jsonl-gz", b"\x11" + gzip.compress(jsonl.encode(), mtime=0))
write("batch_streams", "csv", b"\x02" + csv_text.encode())
write("batch_streams", "csv-gz", b"\x26" + gzip.compress(csv_text.encode(), mtime=0) + gzip.compress(b"c9,second member\n", mtime=0))
write("batch_streams", "txt", b"\x03" + doc.encode())
try:
    zst = subprocess.run(["zstd", "-q", "-c"], input=jsonl.encode(), capture_output=True, check=True).stdout
    write("batch_streams", "jsonl-zst", b"\x40" + zst)
    zst = subprocess.run(["zstd", "-q", "-c"], input=csv_text.encode(), capture_output=True, check=True).stdout
    write("batch_streams", "csv-zst", b"\x02" + zst)
except (OSError, subprocess.CalledProcessError):
    print("zstd not found: no zstd seeds", file=sys.stderr)


# label_import: control byte (tool, rule, second file), then the export(s), NUL between files.
def ls_task(task_id, text, anns):
    return {"id": 1, "data": {"task_id": task_id, "text": text, "doc_id": "d", "paragraph": 0},
            "annotations": [{"completed_by": {"id": u, "email": f"u{u}@x.org"} if u % 2 else u, "was_cancelled": c,
                             "created_at": f"2026-12-0{u}T10:00:00Z", "lead_time": 4.5,
                             "result": [{"from_name": "stance", "to_name": "text", "type": "choices",
                                         "value": {"choices": [l]}}]} for (l, u, c) in anns]}


ls = [ls_task("a#0", texts[0], [("pro", 1, False), ("pro", 2, False)]),
      ls_task("b#0", texts[1], [("anti", 1, False), ("Anti", 2, False), ("neutral", 3, False)]),
      ls_task("c#0", texts[2], [("pro", 1, False), ("anti", 2, False)]),
      ls_task("d#0", texts[3], [("pro", 1, True)]),
      ls_task("e#0", texts[4], [])]
write("label_import", "labelstudio", b"\x00" + json.dumps(ls, indent=1).encode())
ls_min = [{"id": 3, "task_id": "a#1", "text": "Min.", "stance": "neutral", "annotator": "ann@x.org", "lead_time": 2.0},
          {"id": 4, "task_id": "a#2", "text": "None yet."},
          {"id": 5, "text": "Choices.", "stance": {"choices": ["pro"]}, "annotator": 9}]
write("label_import", "labelstudio-min", b"\x06" + json.dumps(ls_min).encode() + b"\0" + json.dumps(ls_min[:1]).encode())
alice = '{"id": 1, "text": "One.", "label": ["pro"], "task_id": "t#0"}\n{"id": 2, "text": "Two.", "label": [], "meta": {"task_id": "t#1"}}\n'
bob = '{"id": 7, "text": "One.", "label": ["anti"], "task_id": "t#0"}\n{"id": 8, "text": "Two.", "label": "Neutral", "meta": {"task_id": "t#1"}}\n'
write("label_import", "doccano", b"\x05" + alice.encode() + b"\0" + bob.encode())
write("label_import", "doccano-errors", b"\x03" + b'{"text": "x", "label": ["maybe"]}\nnot json\n{"text": " "}\n[1]\n')

# model_file: a model trained on the fixture (whole file, and its body alone).
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "tiny.json")
    stance = os.path.join(ROOT, "target", "release", "stance")
    subprocess.run([stance, "train", "--data", os.path.join(ROOT, "tests/fixtures/tiny.jsonl"),
                    "--out", path, "--cv", "0", "--min-df", "2", "--force"], check=True, capture_output=True)
    model = open(path, "rb").read()
write("model_file", "tiny-model", model)
body = model[model.index(b'"body":') + len(b'"body":'):].rstrip()[:-1]
write("model_file", "tiny-body", body)
write("model_file", "wrong-version", model.replace(b'"format_version":1', b'"format_version":2', 1))
write("model_file", "truncated", model[: len(model) // 2])
