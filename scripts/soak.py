#!/usr/bin/env python3
"""Soak of `stance serve` (driven by scripts/soak.sh; see docs/RELIABILITY.md, "Soak").

Runs a mixed load against a running service for a fixed time while the
model file is reloaded every 30 s (alternating a good model and a corrupt
file) and the API keys file is rotated every 30 s (offset by 15 s), and
samples the server's RSS and open file descriptors every second.

Every answer is checked, not just its status:
- a good scoring request must answer 200, and its probabilities must equal
  (bit for bit, through JSON) what one of the two good models gives for that
  text, computed beforehand with `stance score`; where the answer names the
  model (checksum or version) it must name that same model. So a request
  served by a corrupt model, or by a mix of two models, is caught;
- a malformed request (1%) must answer its documented 4xx and error code;
- a reload of a good file must answer 200 and one of a corrupt file 500
  `reload_failed`;
- after each key rotation the new key must be accepted and the retired
  one refused (401).
Anything else is an unexpected status and fails the run.

Standard library only. Prints a JSON report and exits 0 only when every
check passes and RSS drift (median of the last minute over the median of
the first minute after warm-up) is under the bound.
"""

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time

# Made-up texts of a few registers and lengths (written for this script).
TEXTS = [
    "The county board voted 4-1 on Tuesday to end its agreement with federal immigration agents.",
    "Local police should hand over anyone in custody when ICE asks; anything less puts residents at risk.",
    "Advocates said the ordinance lets families report crimes without fearing deportation.",
    "The sheriff's office said it would keep honoring detainer requests for people charged with violent felonies.",
    "What is a detainer? A request from ICE asking a jail to hold a person up to 48 hours past release.",
    "City Hall issued a statement.",
    "Opponents of the measure argued it shields people who should be removed, while supporters cited trust between police and immigrant neighborhoods.",
    "The attorney general warned cities that refuse to share release dates could lose public-safety grants.",
    "Sanctuary now.",
    "A federal judge blocked the executive order, ruling that Congress, not the president, controls the spending power.",
    ("Council members heard two hours of public comment. Several speakers urged the city to stand by its policy; "
     "others described crimes they blamed on released offenders and asked for full cooperation with immigration authorities.\n\n"
     "The vote was postponed to next month.") * 3,
    "Enforcement works when every jurisdiction does its part, the agency's spokesperson said.",
]

# Malformed requests: (name, path, body bytes, content type, accepted statuses, error code or None).
MALFORMED = [
    ("truncated_json", "/v1/score", b'{"text": "The city', "application/json", {400}, "malformed_json"),
    ("wrong_type", "/v1/score", b'{"text": 5}', "application/json", {422}, "invalid_request"),
    ("empty_text", "/v1/score", b'{"text": "   "}', "application/json", {422}, "empty_text"),
    ("array_body", "/v1/score", b'["The city should cooperate with ICE.", 2]', "application/json", {422}, "invalid_request"),
    ("unknown_field", "/v1/score/batch", b'{"documents": [{"id": "a", "text": "x", "extra": 1}]}', "application/json", {422}, "invalid_request"),
    ("bad_media_type", "/v1/score", b'{"text": "ok"}', "text/plain", {415}, "unsupported_media_type"),
    ("empty_batch", "/v1/score/batch", b'{"documents": []}', "application/json", {422}, "empty_batch"),
]

# Share of each request kind (sums to 1).
MIX = [("single", 0.34), ("batch", 0.15), ("perspective", 0.20), ("kserve", 0.15),
       ("explain", 0.15), ("malformed", 0.01)]

ATTR = {"pro": "STANCE_PRO_SANCTUARY", "anti": "STANCE_ANTI_SANCTUARY", "neutral": "STANCE_NEUTRAL"}


class Run:
    """Shared state of the run: counters, latencies, failures, the current key."""

    def __init__(self, args, expected, models):
        self.args = args
        self.expected = expected  # text -> {checksum: {label: p}}
        self.models = models  # checksum -> version
        self.lock = threading.Lock()
        self.counts = {}  # kind -> {status: n}
        self.latency = {}  # kind -> [ms]
        self.failures = []  # first 50 unexpected answers
        self.failure_count = 0
        self.served_by = {}  # checksum -> n
        self.reloads = {"good_ok": 0, "corrupt_refused": 0}
        self.key_rotations = 0
        self.key = args.stable_key
        self.stop = threading.Event()
        self.samples = []  # (t, rss_kb, fds)

    def record(self, kind, status, ms):
        with self.lock:
            self.counts.setdefault(kind, {})
            self.counts[kind][status] = self.counts[kind].get(status, 0) + 1
            self.latency.setdefault(kind, []).append(ms)

    def fail(self, kind, why):
        with self.lock:
            self.failure_count += 1
            if len(self.failures) < 50:
                self.failures.append({"kind": kind, "why": why[:400]})

    def served(self, checksum):
        with self.lock:
            self.served_by[checksum] = self.served_by.get(checksum, 0) + 1


def request(conn, method, path, body=None, headers=None):
    """Sends one request on a keep-alive connection; returns (status, body bytes, ms)."""
    t0 = time.perf_counter()
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data, (time.perf_counter() - t0) * 1000.0


def match_doc(run, text, probs):
    """The checksum of the good model whose answer for `text` equals `probs`, else None."""
    for checksum, p in run.expected[text].items():
        if all(probs.get(k) == v for k, v in p.items()):
            return checksum
    return None


def check_score(run, kind, text, body):
    doc = json.loads(body)
    checksum = match_doc(run, text, doc["probabilities"])
    if checksum is None:
        run.fail(kind, f"probabilities match no good model: {doc['probabilities']}")
    elif doc.get("checksum") != checksum:
        run.fail(kind, f"answer names {doc.get('checksum')} but matches {checksum}")
    else:
        run.served(checksum)


def worker(run, seed):
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    conn = http.client.HTTPConnection("127.0.0.1", run.args.port, timeout=30)
    while not run.stop.is_set():
        kind = rng.choices(kinds, weights)[0]
        key = run.key
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        try:
            if kind in ("single", "explain"):
                text = rng.choice(TEXTS)
                req = {"text": text}
                if kind == "explain":
                    req["explain"] = 5
                status, body, ms = request(conn, "POST", "/v1/score", json.dumps(req), auth)
                run.record(kind, status, ms)
                if status != 200:
                    run.fail(kind, f"status {status}: {body[:200]!r}")
                else:
                    check_score(run, kind, text, body)
            elif kind == "batch":
                texts = rng.sample(TEXTS, 4)
                req = {"documents": [{"id": str(i), "text": t} for i, t in enumerate(texts)]}
                status, body, ms = request(conn, "POST", "/v1/score/batch", json.dumps(req), auth)
                run.record(kind, status, ms)
                if status != 200:
                    run.fail(kind, f"status {status}: {body[:200]!r}")
                    continue
                ans = json.loads(body)
                seen = set()
                for r in ans["results"]:
                    seen.add(match_doc(run, texts[r["index"]], r["probabilities"]))
                if None in seen or len(seen) != 1 or ans.get("checksum") not in seen:
                    run.fail(kind, f"batch answers from {seen}, names {ans.get('checksum')}")
                else:
                    run.served(ans["checksum"])
            elif kind == "perspective":
                text = rng.choice(TEXTS)
                label = rng.choice(list(ATTR))
                req = {"comment": {"text": text}, "requestedAttributes": {ATTR[label]: {}}}
                path = f"/v1alpha1/comments:analyze?key={key}"
                status, body, ms = request(conn, "POST", path, json.dumps(req),
                                           {"Content-Type": "application/json"})
                run.record(kind, status, ms)
                if status != 200:
                    run.fail(kind, f"status {status}: {body[:200]!r}")
                    continue
                value = json.loads(body)["attributeScores"][ATTR[label]]["summaryScore"]["value"]
                hits = [c for c, p in run.expected[text].items() if p[label] == value]
                if not hits:
                    run.fail(kind, f"{label}={value} matches no good model")
                else:
                    run.served(hits[0])
            elif kind == "kserve":
                texts = rng.sample(TEXTS, 2)
                req = {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": texts}]}
                status, body, ms = request(conn, "POST", "/v2/models/sanctuary/infer",
                                           json.dumps(req), auth)
                run.record(kind, status, ms)
                if status != 200:
                    run.fail(kind, f"status {status}: {body[:200]!r}")
                    continue
                ans = json.loads(body)
                out = {o["name"]: o for o in ans["outputs"]}["probabilities"]
                order = out["parameters"]["labels"].split(",")
                seen = set()
                for i, t in enumerate(texts):
                    row = dict(zip(order, out["data"][3 * i:3 * i + 3]))
                    seen.add(match_doc(run, t, row))
                version_ok = all(run.models.get(c) == ans.get("model_version") for c in seen)
                if None in seen or len(seen) != 1 or not version_ok:
                    run.fail(kind, f"infer answers from {seen}, names {ans.get('model_version')}")
                else:
                    run.served(seen.pop())
            else:
                name, path, body_bytes, ctype, ok, code = rng.choice(MALFORMED)
                headers = {"Authorization": f"Bearer {key}", "Content-Type": ctype}
                status, body, ms = request(conn, "POST", path, body_bytes, headers)
                run.record("malformed", status, ms)
                got = None
                try:
                    got = json.loads(body)["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    pass
                if status not in ok or got != code:
                    run.fail("malformed", f"{name}: status {status} code {got}, want {ok} {code}")
        except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
            run.record(kind, "connection_error", 0.0)
            run.fail(kind, f"{type(e).__name__}: {e}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", run.args.port, timeout=30)
    conn.close()


def corrupt_bytes(good, variant):
    """A corrupt model file: truncated, one weight digit changed (checksum), or not JSON."""
    if variant == 0:
        return good[: len(good) // 2]
    if variant == 1:
        i = good.rfind(b"0.", 0, len(good) // 2)
        digit = good[i + 3:i + 4]
        return good[: i + 3] + (b"7" if digit != b"7" else b"3") + good[i + 4:]
    return b"not a model\n"


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def reloader(run):
    """Every 30 s: write the next file (good v2, corrupt, good v1, corrupt, ...) and reload."""
    goods = [open(p, "rb").read() for p in run.args.good_models]
    step = 0
    while not run.stop.wait(run.args.reload_every):
        good = step % 2 == 0
        data = goods[(step // 2) % len(goods)] if good else corrupt_bytes(goods[0], (step // 2) % 3)
        step += 1
        write_atomic(run.args.model_path, data)
        # A fresh connection: an idle keep-alive one is closed by the server after 5 s.
        conn = http.client.HTTPConnection("127.0.0.1", run.args.port, timeout=60)
        try:
            status, body, ms = request(conn, "POST", "/admin/reload", b"",
                                       {"Authorization": f"Bearer {run.args.admin_token}"})
        except (OSError, http.client.HTTPException) as e:
            run.fail("reload", f"{type(e).__name__}: {e}")
            continue
        finally:
            conn.close()
        run.record("reload", status, ms)
        code = None
        try:
            code = json.loads(body).get("error", {}).get("code")
        except ValueError:
            pass
        if good and status == 200:
            run.reloads["good_ok"] += 1
        elif not good and status == 500 and code == "reload_failed":
            run.reloads["corrupt_refused"] += 1
        else:
            run.fail("reload", f"{'good' if good else 'corrupt'} file: status {status} {body[:200]!r}")


def rotator(run):
    """Every 30 s (from 15 s) a key rotation without downtime, each step a SIGHUP:
    add a new key beside the current one, move the clients to it once the
    service accepts it, then retire the old one and check it is refused (401)."""
    if run.stop.wait(run.args.reload_every / 2):
        return
    n = 0
    body = json.dumps({"text": TEXTS[0]})

    def post(conn, key):
        status, _, ms = request(conn, "POST", "/v1/score", body,
                                {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        return status, ms

    def reload_until(conn, key, want):
        # SIGHUP is handled asynchronously: poll (at most 10 s) until `key` answers `want`.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, ms = post(conn, key)
            if status == want:
                run.record("keys_" + ("accepted" if want == 200 else "retired"), status, ms)
                return True
            time.sleep(0.1)
        return False

    while True:
        old = run.key
        new = f"soak-rotating-{n:06d}-{random.getrandbits(32):08x}"
        keys = [run.args.stable_key, new] + ([old] if old != run.args.stable_key else [])
        write_atomic(run.args.keys_path, "\n".join(keys).encode() + b"\n")
        os.kill(run.args.pid, signal.SIGHUP)
        conn = http.client.HTTPConnection("127.0.0.1", run.args.port, timeout=30)
        try:
            if not reload_until(conn, new, 200):
                run.fail("keys", "a new key was not accepted within 10 s of SIGHUP")
            run.key = new
            if old != run.args.stable_key:
                # Requests already sent with the old key finish first.
                time.sleep(2)
                write_atomic(run.args.keys_path, f"{run.args.stable_key}\n{new}\n".encode())
                os.kill(run.args.pid, signal.SIGHUP)
                if not reload_until(conn, old, 401):
                    run.fail("keys", "a retired key was still accepted 10 s after SIGHUP")
        except (OSError, http.client.HTTPException) as e:
            run.fail("keys", f"{type(e).__name__}: {e}")
        conn.close()
        run.key_rotations += 1
        n += 1
        if run.stop.wait(run.args.reload_every):
            return


def sampler(run):
    """RSS (kB) and open fds of the server, every second."""
    t0 = time.monotonic()
    while not run.stop.wait(1.0):
        try:
            with open(f"/proc/{run.args.pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{run.args.pid}/fd"))
        except (OSError, StopIteration):
            run.fail("server", "the server process is gone")
            run.stop.set()
            return
        run.samples.append((time.monotonic() - t0, rss, fds))


def percentiles(xs):
    if not xs:
        return {}
    xs = sorted(xs)
    at = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    return {"p50": round(at(0.50), 2), "p90": round(at(0.90), 2), "p99": round(at(0.99), 2),
            "max": round(xs[-1], 2)}


def drift(samples, index, warmup):
    """Median of the last 60 s over the median of the first 60 s after warm-up, minus 1."""
    first = [s[index] for s in samples if warmup <= s[0] < warmup + 60]
    end = samples[-1][0] if samples else 0
    last = [s[index] for s in samples if s[0] >= end - 60]
    if not first or not last:
        return None, None, None
    a, b = statistics.median(first), statistics.median(last)
    return a, b, (b - a) / a


def expected_answers(args):
    """What each good model answers for each text, from `stance score` (the batch path)."""
    inp = os.path.join(args.work, "texts.jsonl")
    with open(inp, "w") as f:
        for i, t in enumerate(TEXTS):
            f.write(json.dumps({"id": str(i), "text": t}) + "\n")
    expected = {t: {} for t in TEXTS}
    versions = {}
    for n, model in enumerate(args.good_models):
        out = os.path.join(args.work, f"expected-{n}.jsonl")
        if os.path.exists(out):
            os.remove(out)
        subprocess.run([args.stance, "score", "--model", model, "--input", inp, "--output", out,
                        "--no-progress"], check=True, stderr=subprocess.DEVNULL)
        for line in open(out):
            r = json.loads(line)
            expected[TEXTS[int(r["id"])]][r["model_checksum"]] = r["probabilities"]
            versions[r["model_checksum"]] = r["model_version"]
    if len(versions) != len(args.good_models):
        sys.exit("soak: the good models must differ (their checksums are equal)")
    return expected, versions


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--reload-every", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=120.0,
                    help="seconds before the first RSS window (thread pools, arenas, first reloads)")
    ap.add_argument("--rss-drift-max", type=float, default=0.05)
    ap.add_argument("--model-path", required=True, help="the file the service reloads")
    ap.add_argument("--good-models", nargs="+", required=True)
    ap.add_argument("--stance", required=True, help="the stance binary (computes the expected answers)")
    ap.add_argument("--work", required=True, help="a scratch directory")
    ap.add_argument("--keys-path", required=True)
    ap.add_argument("--stable-key", required=True)
    ap.add_argument("--admin-token", required=True)
    ap.add_argument("--report", required=True)
    args = ap.parse_args()

    expected, versions = expected_answers(args)
    run = Run(args, expected, versions)
    threads = [threading.Thread(target=worker, args=(run, i), daemon=True) for i in range(args.clients)]
    threads += [threading.Thread(target=f, args=(run,), daemon=True) for f in (reloader, rotator, sampler)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    run.stop.wait(args.seconds)
    run.stop.set()
    for t in threads:
        t.join(timeout=60)
    elapsed = time.monotonic() - t0

    rss0, rss1, rss_drift = drift(run.samples, 1, args.warmup)
    fd0, fd1, _ = drift(run.samples, 2, args.warmup)
    endpoints = {}
    for kind, by_status in sorted(run.counts.items()):
        endpoints[kind] = {"count": sum(by_status.values()),
                           "statuses": {str(k): v for k, v in sorted(by_status.items(), key=str)},
                           "latency_ms": percentiles(run.latency.get(kind, []))}
    checks = {
        "no_unexpected_answer": run.failure_count == 0,
        "every_request_by_a_good_model": run.failure_count == 0 and sum(run.served_by.values()) > 0,
        "reloads_happened": run.reloads["good_ok"] > 0 and run.reloads["corrupt_refused"] > 0,
        "keys_rotated": run.key_rotations > 0,
        "rss_drift_under_bound": rss_drift is not None and rss_drift < args.rss_drift_max,
        "fd_no_growth": fd0 is not None and fd1 <= fd0 + 8,
    }
    report = {
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "requests": sum(e["count"] for k, e in endpoints.items() if not (k == "reload" or k.startswith("keys_"))),
        "endpoints": endpoints,
        "unexpected": run.failure_count,
        "first_unexpected": run.failures,
        "served_by_model": {f"{versions.get(c, '?')} {c[:19]}": n for c, n in run.served_by.items()},
        "reloads": run.reloads,
        "key_rotations": run.key_rotations,
        "rss_kb": {"first_minute_median": rss0, "last_minute_median": rss1,
                   "drift": None if rss_drift is None else round(rss_drift, 4),
                   "max": max((s[1] for s in run.samples), default=None)},
        "fds": {"first_minute_median": fd0, "last_minute_median": fd1,
                "max": max((s[2] for s in run.samples), default=None)},
        "checks": checks,
        "passed": all(checks.values()),
        "rss_kb_every_10s": [s[1] for s in run.samples[9::10]],
    }
    with open(args.report, "w") as f:
        json.dump(report, f, indent=2)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
