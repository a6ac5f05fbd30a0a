#!/usr/bin/env python3
"""Rewrites the outputs the documentation shows from the shipped model.

Every example in README.md, models/MODEL_CARD.md and docs/*.md is a marker
line followed by a fenced block (see tests/integration/doc_examples.rs, which
checks them against the model on every `cargo test`):

    <!-- example score {"text": "...", "explain": 2} -->       a /v1/score response
    <!-- example batch {"documents": [{"id": "a1", "text": "..."}]} -->  a /v1/score/batch response
    <!-- example record {"text": "...", "id": "...", "source": "..."} -->   a `stance score` record
    <!-- example perspective {"text": "...", "attribute": "STANCE_PRO_SANCTUARY"} -->
    <!-- example kserve {"texts": ["...", "..."]} -->
    <!-- example predict {"text": "..."} -->                   `stance predict` output

After a retrain, run `scripts/update_doc_examples.py` (it builds nothing:
it runs target/release/stance, so `cargo build --release` first), then read
the diff: the prose around an example may need to change too.
Numbers are rounded to four decimals; checksums are shown whole. A `record`
is written on one line, as `stance score` writes JSONL (docs/BATCH.md). The
binary runs without any STANCE_* variable of the caller's environment
(STANCE_MODEL and the like would change what it serves).
"""
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "stance"
MARKER = re.compile(r"^\s*<!-- example (\w+) (.*) -->\s*$")
# The environment of every process run: the caller's, without STANCE_*.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("STANCE_")}


def rounded(v):
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, dict):
        return {k: rounded(x) for k, x in v.items()}
    if isinstance(v, list):
        return [rounded(x) for x in v]
    return v


def compact(v, indent=0, width=96):
    """JSON with small objects and arrays kept on one line."""
    one = json.dumps(v, ensure_ascii=False)
    if len(one) + indent <= width or not isinstance(v, (dict, list)) or not v:
        return one
    pad = " " * (indent + 2)
    if isinstance(v, dict):
        items = [f'{pad}{json.dumps(k)}: {compact(x, indent + 2, width)}' for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + compact(x, indent + 2, width) for x in v]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def post(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def block_for(kind, inp, base, model):
    if kind == "score":
        body = {"text": inp["text"]}
        if "explain" in inp:
            body["explain"] = inp["explain"]
        return compact(rounded(post(base, "/v1/score", body)))
    if kind == "batch":
        return compact(rounded(post(base, "/v1/score/batch", {"documents": inp["documents"]})))
    if kind == "record":
        r = post(base, "/v1/score", {"text": inp["text"]})
        rec = {"id": inp.get("id", ""), "source": inp.get("source", ""), "label": r["label"],
               "probabilities": r["probabilities"], "stance_index": r["stance_index"],
               "low_confidence": r["low_confidence"], "model": model["name"],
               "model_version": model["version"], "model_checksum": model["checksum"]}
        # One JSON object per line, separated as serde_json writes it.
        return json.dumps(rounded(rec), ensure_ascii=False, separators=(",", ":"))
    if kind == "perspective":
        body = {"comment": {"text": inp["text"]}, "requestedAttributes": {inp["attribute"]: {}},
                "spanAnnotations": True}
        r = post(base, f"/v1alpha1/comments:analyze", body)
        return compact(rounded(r))
    if kind == "kserve":
        body = {"id": "req-1", "inputs": [{"name": "text", "shape": [len(inp["texts"])],
                                            "datatype": "BYTES", "data": inp["texts"]}]}
        r = post(base, f"/v2/models/{model['name']}/infer", body)
        return compact(rounded(r))
    if kind == "predict":
        out = subprocess.run([str(BIN), "predict", inp["text"]], capture_output=True, text=True,
                             check=True, env=ENV)
        return out.stdout.rstrip("\n")
    raise SystemExit(f"unknown example kind {kind}")


def main():
    if not BIN.exists():
        raise SystemExit(f"{BIN} not found: run cargo build --release first")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(BIN), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                model = json.load(urllib.request.urlopen(base + "/v1/model"))
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("stance serve did not start")
        files = [ROOT / "README.md", ROOT / "models" / "MODEL_CARD.md"] + sorted((ROOT / "docs").glob("*.md"))
        for f in files:
            if not f.exists():
                continue
            lines = f.read_text().split("\n")
            out, i, changed = [], 0, 0
            while i < len(lines):
                out.append(lines[i])
                m = MARKER.match(lines[i])
                if not m:
                    i += 1
                    continue
                kind, inp = m.group(1), json.loads(m.group(2))
                j = i + 1
                while not lines[j].lstrip().startswith("```"):
                    out.append(lines[j])
                    j += 1
                out.append(lines[j])
                k = j + 1
                while not lines[k].lstrip().startswith("```"):
                    k += 1
                out.extend(block_for(kind, inp, base, model).split("\n"))
                out.append(lines[k])
                changed += 1
                i = k + 1
            if changed:
                f.write_text("\n".join(out))
                print(f"{f.relative_to(ROOT)}: {changed} example(s) rewritten")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
