#!/usr/bin/env python3
"""Drives a running `stance serve` through real client libraries.

- Perspective: Google's discovery-based `google-api-python-client`, built the
  way Perspective's own Python sample builds it, with only the discovery URL
  changed to point at this service.
- Open Inference Protocol (KServe V2): Triton's `tritonclient.http`.

Asserts on the answers (shapes, sums, UTF-16 spans, errors, keys) and
compares the scores with the service's native `/v1/score`. Prints one line
per check and exits 0 when all pass, 1 otherwise. Run by
scripts/test_clients.sh, which installs the pinned clients and starts the
server.

Usage: clients_check.py --url http://127.0.0.1:PORT --key KEY
"""

import argparse
import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as triton
from googleapiclient import discovery
from googleapiclient.errors import HttpError
from tritonclient.utils import InferenceServerException

ATTRIBUTES = ["STANCE_PRO_SANCTUARY", "STANCE_ANTI_SANCTUARY", "STANCE_NEUTRAL"]
LABEL_OF = {"STANCE_PRO_SANCTUARY": "pro", "STANCE_ANTI_SANCTUARY": "anti", "STANCE_NEUTRAL": "neutral"}
TEXT = (
    "Café owners 🙂 said sanctuary protections keep families safe.\n\n"
    "Le shérif 👮‍♀️ wants every ICE detainer honored."
)
FAILED = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        FAILED.append(name)


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol


def native_score(url, key, text):
    req = urllib.request.Request(
        url + "/v1/score",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def utf16_slice(text, begin, end):
    units = text.encode("utf-16-le")
    return units[2 * begin : 2 * end].decode("utf-16-le")


def perspective_client(url, key):
    # Perspective's documented Python sample, with our discovery URL.
    return discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl=url + "/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
    )


def error_of(e):
    body = json.loads(e.content.decode())
    return e.resp.status, body["error"]


def check_perspective(url, key):
    client = perspective_client(url, key)
    native = native_score(url, key, TEXT)
    request = {
        "comment": {"text": TEXT},
        "requestedAttributes": {a: {} for a in ATTRIBUTES},
        "spanAnnotations": True,
        "languages": ["en"],
        "doNotStore": True,
        "clientToken": "client-check-1",
    }
    resp = client.comments().analyze(body=request).execute()
    scores = resp.get("attributeScores", {})
    check("perspective: all three attributes answered", sorted(scores) == sorted(ATTRIBUTES), resp)
    total = sum(scores[a]["summaryScore"]["value"] for a in ATTRIBUTES if a in scores)
    check("perspective: the three summary scores sum to 1", close(total, 1.0), total)
    for a in ATTRIBUTES:
        got = scores.get(a, {}).get("summaryScore", {})
        want = native["probabilities"][LABEL_OF[a]]
        check(f"perspective: {a} equals /v1/score", close(got.get("value", -1), want) and got.get("type") == "PROBABILITY", (got, want))
    spans = scores.get("STANCE_PRO_SANCTUARY", {}).get("spanScores", [])
    paragraphs = [p.strip() for p in TEXT.split("\n\n")]
    check("perspective: one span per paragraph", len(spans) == len(paragraphs), spans)
    for i, (s, p) in enumerate(zip(spans, paragraphs)):
        check(f"perspective: span {i} is [begin, end) in UTF-16 units", utf16_slice(TEXT, s["begin"], s["end"]) == p, (s, p))
    check("perspective: clientToken echoed", resp.get("clientToken") == "client-check-1", resp.get("clientToken"))
    check("perspective: languages echoed", resp.get("languages") == ["en"], resp.get("languages"))

    # scoreThreshold leaves out attributes whose score is below it.
    low = min(ATTRIBUTES, key=lambda a: scores[a]["summaryScore"]["value"])
    thresholds = {a: {"scoreThreshold": scores[a]["summaryScore"]["value"] + 1e-6 if a == low else 0.0} for a in ATTRIBUTES}
    resp = client.comments().analyze(body={"comment": {"text": TEXT}, "requestedAttributes": thresholds}).execute()
    kept = resp.get("attributeScores", {})
    check("perspective: scoreThreshold leaves out the attribute below it", low not in kept and len(kept) == 2, kept)

    # Errors come back as HttpError with Google's envelope.
    cases = [
        ({"comment": {"text": ""}, "requestedAttributes": {"STANCE_NEUTRAL": {}}}, "COMMENT_EMPTY"),
        ({"comment": {"text": "x"}, "requestedAttributes": {}}, "NO_REQUESTED_ATTRIBUTES"),
        ({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_NEUTRAL": {}}, "languages": ["de"]}, "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"),
        ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}}, "INVALID_REQUEST"),
        ({"comment": {"text": "x"}, "requestedAttributes": {"STANCE_NEUTRAL@999": {}}}, "INVALID_REQUEST"),
    ]
    for body, error_type in cases:
        try:
            client.comments().analyze(body=body).execute()
            check(f"perspective: {error_type} raised", False, "no error")
        except HttpError as e:
            status, err = error_of(e)
            got = err.get("details", [{}])[0].get("errorType")
            check(f"perspective: {error_type} is a 400 with its errorType", status == 400 and got == error_type, (status, err))

    # Feedback (suggestscore) is acknowledged with the clientToken.
    ack = client.comments().suggestscore(body={
        "comment": {"text": TEXT},
        "attributeScores": {"STANCE_NEUTRAL": {"summaryScore": {"value": 1.0}}},
        "clientToken": "feedback-1",
    }).execute()
    check("perspective: suggestscore acknowledged", ack == {"clientToken": "feedback-1"}, ack)

    # A wrong key is refused with 401 UNAUTHENTICATED.
    bad = perspective_client(url, "not-a-valid-key-000")
    try:
        bad.comments().analyze(body=request).execute()
        check("perspective: a wrong key is refused", False, "no error")
    except HttpError as e:
        status, err = error_of(e)
        check("perspective: a wrong key is refused", status == 401 and err.get("status") == "UNAUTHENTICATED", (status, err))


def check_kserve(url, key):
    host = url.split("://", 1)[1]
    client = triton.InferenceServerClient(url=host)
    auth = {"Authorization": f"Bearer {key}"}
    check("kserve: server live", client.is_server_live())
    check("kserve: server ready", client.is_server_ready())
    model = json.load(urllib.request.urlopen(url + "/v1/model", timeout=30))
    name = model.get("name") or model.get("model", "").split("@")[0]
    meta = client.get_model_metadata(name)
    version = meta["versions"][0]
    check("kserve: model ready", client.is_model_ready(name) and client.is_model_ready(name, version))
    check("kserve: metadata names a BYTES input", meta["inputs"][0]["datatype"] == "BYTES", meta)

    texts = [TEXT, "The county board meets Tuesday to review the jail budget."]
    for binary in (True, False):
        inp = triton.InferInput("text", [len(texts)], "BYTES")
        inp.set_data_from_numpy(np.array([t.encode() for t in texts], dtype=np.object_), binary_data=binary)
        outputs = None if binary else [triton.InferRequestedOutput(n, binary_data=False) for n in ("label", "probabilities")]
        # A fresh dict per call: tritonclient adds Inference-Header-Content-Length
        # to the caller's headers dict, which would poison the next request.
        result = client.infer(name, [inp], outputs=outputs, request_id="req-7", headers=dict(auth))
        response = result.get_response()
        how = "binary" if binary else "JSON"
        check(f"kserve ({how} input): model_version set", response.get("model_version") == version, response)
        check(f"kserve ({how} input): id echoed", response.get("id") == "req-7", response.get("id"))
        probs = result.as_numpy("probabilities")
        labels = result.as_numpy("label")
        check(f"kserve ({how} input): probabilities are [N, 3]", probs is not None and probs.shape == (2, 3), None if probs is None else probs.shape)
        check(f"kserve ({how} input): rows sum to 1", np.allclose(probs.sum(axis=1), 1.0))
        order = ["anti", "neutral", "pro"]
        for i, t in enumerate(texts):
            native = native_score(url, key, t)
            want = [native["probabilities"][l] for l in order]
            label = labels[i].decode() if isinstance(labels[i], bytes) else str(labels[i])
            check(f"kserve ({how} input): text {i} equals /v1/score", np.allclose(probs[i], want, atol=1e-12) and label == native["label"], (probs[i], want, label))

    # A gzip-compressed request body.
    inp = triton.InferInput("text", [1], "BYTES")
    inp.set_data_from_numpy(np.array([texts[1].encode()], dtype=np.object_))
    result = client.infer(name, [inp], headers=dict(auth), request_compression_algorithm="gzip")
    probs = result.as_numpy("probabilities")
    want = native_score(url, key, texts[1])["probabilities"]
    check("kserve: gzip-compressed request", np.allclose(probs[0], [want[l] for l in ("anti", "neutral", "pro")], atol=1e-12), probs)

    # Unknown model and missing key are errors the client raises.
    inp = triton.InferInput("text", [1], "BYTES")
    inp.set_data_from_numpy(np.array([b"x"], dtype=np.object_), binary_data=False)
    for what, model_name, headers, status in [("unknown model", "no-such-model", auth, "404"), ("missing key", name, None, "401")]:
        try:
            client.infer(model_name, [inp], headers=dict(headers) if headers else None)
            check(f"kserve: {what} raises", False, "no error")
        except InferenceServerException as e:
            check(f"kserve: {what} raises {status}", str(e.status()) == status, (e.status(), e.message()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()
    check_perspective(args.url, args.key)
    check_kserve(args.url, args.key)
    if FAILED:
        print(f"{len(FAILED)} client check(s) failed: {', '.join(FAILED)}")
        return 1
    print("all client checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
