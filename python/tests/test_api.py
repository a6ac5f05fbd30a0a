"""The Model API: loading, identity, shapes, and the typed errors."""

import json
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import stance
from conftest import ROOT

SHIPPED = ROOT / "models" / "sanctuary-v2.json"


def test_shipped_model_matches_the_cli_identity(model, stance_bin):
    out = subprocess.run(
        [str(stance_bin), "predict", "--json", "The board meets Tuesday."],
        capture_output=True, text=True, check=True,
    )
    cli = json.loads(out.stdout)
    assert f"{model.name}@{model.version}" == cli["model"]
    assert model.checksum == cli["checksum"]
    assert model.checksum.startswith("sha256:")


def test_labels_are_the_class_order(model):
    assert model.labels == ["anti", "neutral", "pro"]


def test_loads_a_model_file_by_path_str_and_pathlike(model):
    for path in (str(SHIPPED), SHIPPED):
        m = stance.Model.load(path)
        assert (m.name, m.version, m.checksum) == (model.name, model.version, model.checksum), path


def test_missing_model_file_is_a_model_error_naming_it(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(stance.ModelError, match="nope.json") as e:
        stance.Model.load(missing)
    assert isinstance(e.value, stance.StanceError)


def test_corrupted_and_truncated_model_files_are_model_errors(tmp_path):
    body = SHIPPED.read_bytes()
    cases = {"truncated": body[: len(body) // 2], "not json": b"hello", "empty": b""}
    for name, data in cases.items():
        p = tmp_path / f"{name.replace(' ', '_')}.json"
        p.write_bytes(data)
        with pytest.raises(stance.ModelError) as e:
            stance.Model.load(p)
        assert str(p.name) in str(e.value), name


def test_a_model_file_whose_checksum_does_not_match_is_refused(tmp_path):
    doc = json.loads(SHIPPED.read_text())
    doc["body"]["meta"]["version"] = "9.9.9"  # body changed, checksum kept
    p = tmp_path / "tampered.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(stance.ModelError):
        stance.Model.load(p)


def test_predict_proba_shape_sums_and_predict_agree(model, records):
    texts = [r["text"] for r in records[:50]]
    p = model.predict_proba(texts)
    assert p.shape == (50, 3) and p.dtype == np.float64
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-12)
    labels = model.predict(texts)
    assert labels == [model.labels[i] for i in p.argmax(axis=1)]


def test_predict_proba_takes_any_iterable_of_str(model, records):
    texts = [r["text"] for r in records[:5]]
    want = model.predict_proba(texts)
    for name, it in {"tuple": tuple(texts), "generator": (t for t in texts),
                     "numpy": np.array(texts, dtype=object)}.items():
        assert np.array_equal(model.predict_proba(it), want), name
    assert model.predict_proba([]).shape == (0, 3)


@pytest.mark.parametrize(
    "texts, pattern",
    [
        (["ok text", "another", None], r"texts\[2\]: expected str, got NoneType"),
        (["ok text", 42], r"texts\[1\]: expected str, got int"),
        (["ok text", "  \n "], r"texts\[1\]: text is empty"),
        (["", "ok"], r"texts\[0\]: text is empty"),
        ("a single string", r"not a single str"),
        (17, r"iterable of str, not int"),
    ],
)
def test_bad_texts_are_input_errors_naming_the_index(model, texts, pattern):
    for call in (model.predict_proba, model.predict):
        with pytest.raises(stance.InputError, match=pattern) as e:
            call(texts)
        assert isinstance(e.value, ValueError) and isinstance(e.value, stance.StanceError)


def test_score_refuses_blank_text(model):
    with pytest.raises(stance.InputError, match="text is empty"):
        model.score(" \n\n ")


def test_score_without_paragraphs_leaves_them_out(model):
    text = "The county should stop honoring ICE detainers.\n\nThe board meets Tuesday."
    full = model.score(text)
    short = model.score(text, paragraphs=False)
    assert len(full["paragraphs"]) == 2
    assert "paragraphs" not in short
    assert {k: v for k, v in full.items() if k != "paragraphs"} == short
    assert "paragraphs" in model.score(text, paragraphs=False, explain=2)


def test_the_gil_is_released_while_scoring(model, records):
    # A batch long enough to observe, whatever the machine's speed: doubled
    # until scoring it alone takes over 50 ms.
    texts = [r["text"] for r in records]
    while True:
        start = time.perf_counter()
        model.predict_proba(texts)
        alone = time.perf_counter() - start
        if alone > 0.05 or len(texts) >= 1_000_000:
            break
        texts = texts * 2
    assert alone > 0.05, f"batch too small to observe ({alone:.3f}s, {len(texts)} texts)"

    ticks = [0]
    done = threading.Event()

    def spin():
        while not done.is_set():
            ticks[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        before = ticks[0]
        model.predict_proba(texts)
        during = ticks[0] - before
    finally:
        done.set()
        t.join()
    # Holding the GIL, the spinning thread would stand still for the whole call
    # (a C call is never preempted); released, it runs all along.
    assert during > 10_000, f"the other thread ran {during} loop turns while scoring"


def test_type_stubs_ship_with_the_package():
    installed = Path(stance.__file__).parent
    assert installed != ROOT / "python" / "stance", "tests must run against the installed wheel"
    for name in ("py.typed", "__init__.pyi"):
        assert (installed / name).is_file(), name
    stub = (installed / "__init__.pyi").read_text()
    for name in ("def load", "def predict_proba", "def predict", "def score", "def score_arrow"):
        assert name in stub, name
