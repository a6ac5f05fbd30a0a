"""Python, Arrow and the HTTP answer against the real `stance` binary: the
same probabilities to the last bit. Exact equality holds because every path
runs the same Rust scorer on the same text, and the CLI's JSON writes each
f64 in shortest round-trip form (serde_json float_roundtrip), so parsing it
gives back the very same double."""

import json
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pyarrow as pa
import pytest

from conftest import cli_row


def test_predict_proba_equals_stance_score_bit_for_bit(model, records, cli):
    got = model.predict_proba([r["text"] for r in records])
    want = np.array([cli_row(cli[r["id"]], model.labels) for r in records])
    assert np.array_equal(got, want), f"{np.sum(got != want)} of {got.size} values differ"
    assert model.predict([r["text"] for r in records]) == [cli[r["id"]]["label"] for r in records]


@pytest.mark.parametrize("string_type", [pa.string(), pa.large_string(), pa.string_view()])
def test_score_arrow_on_a_chunked_table_equals_stance_score(model, records, cli, string_type):
    texts = pa.array([r["text"] for r in records], type=string_type)
    ids = pa.array([r["id"] for r in records])
    table = pa.table({"id": ids, "body": texts})
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=97))
    assert chunked["body"].num_chunks > 3
    out = model.score_arrow(chunked, text_column="body")
    assert isinstance(out, pa.RecordBatch) and out.num_rows == len(records)
    got = np.column_stack([out[label].to_numpy() for label in model.labels])
    want = np.array([cli_row(cli[r["id"]], model.labels) for r in records])
    assert np.array_equal(got, want), string_type
    assert out["label"].to_pylist() == [cli[r["id"]]["label"] for r in records]
    assert out["stance_index"].to_pylist() == [cli[r["id"]]["stance_index"] for r in records]
    assert out["low_confidence"].to_pylist() == [cli[r["id"]]["low_confidence"] for r in records]
    assert out["error"].null_count == len(records)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(stance_bin):
    port = free_port()
    proc = subprocess.Popen(
        [str(stance_bin), "serve", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(f"stance serve exited: {proc.stderr.read().decode()}")
                time.sleep(0.05)
        else:
            raise AssertionError("stance serve did not answer /healthz in 10 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@pytest.mark.parametrize("explain", [0, 3])
def test_score_equals_the_servers_answer(model, records, server, explain):
    for r in records[:40]:
        want = post(server + "/v1/score", {"text": r["text"], "explain": explain})
        got = model.score(r["text"], explain=explain)
        assert got == want, r["id"]
        if explain:
            assert all("explanation" in p for p in got["paragraphs"]), r["id"]
