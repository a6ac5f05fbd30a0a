"""Shared fixtures of the Python test suite: the model, the real `stance`
binary and its scores (the oracle every Python path is compared with), and
a guard that turns any skipped test into a failed run."""

import json
import os
import subprocess
from pathlib import Path

import pytest

import stance

ROOT = Path(__file__).resolve().parents[2]
SKIPPED: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if SKIPPED:
        print("\n" + "!" * 70)
        print(f"SKIPPED {len(SKIPPED)} test(s): the suite does not pass with skips")
        for s in SKIPPED:
            print(f"SKIPPED {s}")
        print("!" * 70)
        session.exitstatus = 1


@pytest.fixture(scope="session")
def model() -> stance.Model:
    return stance.Model.load()


@pytest.fixture(scope="session")
def stance_bin() -> Path:
    path = Path(os.environ.get("STANCE_BIN", ROOT / "target" / "release" / "stance"))
    assert path.is_file(), f"{path} is missing: cargo build --release (or set STANCE_BIN)"
    return path


def corpus(n: int) -> list[dict]:
    """n records (id, text) from the repository's training and test paragraphs,
    some joined into multi-paragraph documents, plus texts that stress the
    analyzer (non-ASCII, long lines); deterministic."""
    rows = []
    for name in ("test.jsonl", "train.jsonl"):
        with open(ROOT / "training_data" / name, encoding="utf-8") as f:
            rows.extend(json.loads(line)["text"] for line in f if line.strip())
    texts = [
        "Le maire a dit «non» à l’ICE.\n\nThe county won't honor detainers — ever. 🙂",
        "word " * 3000,
    ]
    i = 0
    while len(texts) < n:
        if i % 5 == 0:
            texts.append("\n\n".join(rows[i % len(rows): i % len(rows) + 3]))
        else:
            texts.append(rows[i % len(rows)])
        i += 1
    return [{"id": f"r{k}", "text": t} for k, t in enumerate(texts[:n])]


def cli_scores(stance_bin: Path, records: list[dict], tmp: Path) -> dict[str, dict]:
    """`stance score` output records by id, for records written as JSONL."""
    inp, out = tmp / "in.jsonl", tmp / "out.jsonl"
    with open(inp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    proc = subprocess.run(
        [str(stance_bin), "score", "--input", str(inp), "--output", str(out), "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode in (0, 1), f"stance score failed: {proc.stderr}"
    with open(out, encoding="utf-8") as f:
        scored = [json.loads(line) for line in f]
    assert len(scored) == len(records), "stance score wrote one record per input"
    return {s["id"]: s for s in scored}


def cli_row(rec: dict, labels: list[str]) -> list[float]:
    return [rec["probabilities"][label] for label in labels]


@pytest.fixture(scope="session")
def records() -> list[dict]:
    return corpus(600)


@pytest.fixture(scope="session")
def cli(stance_bin, records, tmp_path_factory) -> dict[str, dict]:
    return cli_scores(stance_bin, records, tmp_path_factory.mktemp("cli"))
