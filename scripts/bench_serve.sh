#!/usr/bin/env bash
# Service speed: `stance serve` against a reference Python service (FastAPI +
# uvicorn + a scikit-learn pipeline of the same shape, trained on the same data,
# see scripts/reference_service.py), both on loopback with 2 workers.
#
# Usage: scripts/bench_serve.sh [--duration 15] [--connections 64] [--warmup 3]
#            [--fixed-duration 15] [--wrk-threads 1] [--c 10] [--port 18080]
#            [--ref-port 18081] [--repeat 1] [--pin] [--work DIR] [--no-build]
#
# For each server and each document (1 KB and 20 KB of news-like text made of
# training paragraphs, scripts/news_corpus.py):
#   peak   closed loop: wrk, --connections connections for --duration seconds,
#          after --warmup seconds of unmeasured load: requests/s, p50/p99, non-2xx
#   fixed  open loop at a fixed rate: oha -q RATE --latency-correction (latency
#          counted from each request's scheduled send time, so a stall is not
#          hidden by coordinated omission), for --fixed-duration seconds: p50/p99,
#          non-2xx. Our service runs at 50% of our peak for that document; the
#          reference at 50% of its own peak (it cannot sustain ours).
#   control  right after each fixed-rate run of ours, the same oha run at the
#          same rate against GET /healthz (no body, no scoring): the latency
#          floor of this machine, load generator and HTTP stack at that rate.
# With --repeat N the whole cycle runs N times; the table shows the median of
# each figure over the runs (non-2xx: the sum) and lists every run's p99.
# Load generators: wrk (Debian package; installed with apt-get when missing) for
# the closed loop, as it needs the least CPU per request on this 2-core machine;
# oha (crates.io, built once with `cargo install` into target/bench-tools) for
# the fixed rate, as Debian has no wrk2. By default they share all cores with the
# servers, which run 2 workers each. With --pin the cores are split: the
# servers (both of them, one worker per server core) on the upper half of the
# cores, the load generators on the lower half (taskset), so the client and
# the server no longer wait for each other's CPU; on a 2-core machine that is
# one core each, and "our peak" is then the peak of one worker on one core.
# Bars: ours >= 10x the reference's requests/s on the 1 KB document; our p99 <
# 5 ms at 50% of our peak rate (both documents); zero non-2xx in every run.
# Both servers log every request to a file in --work (ours: its tracing line;
# uvicorn: its access log), as they would in production.
# Exit status: 0 when every bar passes, 1 when one fails, 2 on set-up errors.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Keep scripts/ free of __pycache__ (reference_service.py is imported as a module).
export PYTHONDONTWRITEBYTECODE=1

DURATION=15
CONNECTIONS=64
WARMUP=3
FIXED_DURATION=15
WRK_THREADS=1
C=10
PORT=18080
REF_PORT=18081
WORK="$ROOT/target/bench-data/serve"
REPEAT=1
PIN=0
BUILD=1
VENV="$ROOT/target/serve-venv"
REQS=("$ROOT/scripts/requirements-bench.txt" "$ROOT/scripts/requirements-serve.txt")
OHA_VERSION=1.16.0
OHA="$ROOT/target/bench-tools/bin/oha"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench_serve: $*" >&2; exit 2; }
say() { echo "bench_serve: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --fixed-duration) FIXED_DURATION="$2"; shift 2 ;;
    --wrk-threads) WRK_THREADS="$2"; shift 2 ;;
    --c) C="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --ref-port) REF_PORT="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --pin) PIN=1; shift ;;
    --work) WORK="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
for n in "$REPEAT" "$DURATION" "$CONNECTIONS" "$WARMUP" "$FIXED_DURATION" "$WRK_THREADS" "$PORT" "$REF_PORT"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "expected a whole number, got '$n'"
done
[ "$REPEAT" -ge 1 ] && [ "$REPEAT" -le 10 ] || die "--repeat must be 1..10"
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 600 ] || die "--duration must be 1..600 seconds"
[ "$FIXED_DURATION" -ge 1 ] && [ "$FIXED_DURATION" -le 600 ] || die "--fixed-duration must be 1..600 seconds"

# --- Cores -------------------------------------------------------------------
WORKERS=2
SRV=()
CLI=()
PLACEMENT="servers and load generators share all $(nproc) cores; 2 workers per server"
if [ "$PIN" = 1 ]; then
  command -v taskset > /dev/null || die "--pin needs taskset (util-linux)"
  NCPU="$(nproc)"
  [ "$NCPU" -ge 2 ] || die "--pin needs at least 2 cores, this machine has $NCPU"
  HALF=$((NCPU / 2))
  CLIENT_CPUS="0-$((HALF - 1))"
  SERVER_CPUS="$HALF-$((NCPU - 1))"
  WORKERS=$((NCPU - HALF))
  SRV=(taskset -c "$SERVER_CPUS")
  CLI=(taskset -c "$CLIENT_CPUS")
  "${SRV[@]}" true && "${CLI[@]}" true || die "taskset cannot use cores $CLIENT_CPUS / $SERVER_CPUS"
  PLACEMENT="pinned: servers on cores $SERVER_CPUS ($WORKERS worker(s) each), load generators on cores $CLIENT_CPUS"
fi

# --- Tools -------------------------------------------------------------------
if ! command -v wrk > /dev/null; then
  say "installing wrk (apt-get)"
  { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; } || die "cannot install wrk"
fi
if [ ! -x "$OHA" ] || ! "$OHA" --version 2>/dev/null | grep -q "$OHA_VERSION"; then
  say "building oha $OHA_VERSION (cargo install, once; a few minutes)"
  cargo install oha --version "$OHA_VERSION" --locked --quiet \
    --root "$ROOT/target/bench-tools" || die "cargo install oha failed"
fi

# --- Venv, build, models (shared with bench_score.sh) -----------------------------
# shellcheck source=scripts/bench_common.sh
source "$ROOT/scripts/bench_common.sh"
bench_setup

for kb in 1 20; do
  python3 "$ROOT/scripts/news_corpus.py" doc --bytes $((kb * 1024)) --seed "$kb" \
    --out "$WORK/doc-${kb}k.txt" "${SOURCES[@]}" 2> /dev/null || die "cannot make the ${kb} KB document"
  python3 -c 'import json,sys; print(json.dumps({"text": open(sys.argv[1], encoding="utf-8").read(), "explain": 0}))' \
    "$WORK/doc-${kb}k.txt" > "$WORK/body-${kb}k.json"
done

cat > "$WORK/post.lua" <<'EOF'
-- POSTs the JSON body in $BENCH_BODY, counts non-2xx responses exactly and
-- prints one line "WRKJSON {...}" with the results.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
local threads = {}
function setup(thread) table.insert(threads, thread) end
non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"non2xx":%d,"socket_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, bad, e.connect + e.read + e.write, e.timeout))
end
EOF

# --- Servers (own process groups; stopped on exit) ------------------------------
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2> /dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2> /dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2> /dev/null || true; done
}
trap cleanup EXIT
trap 'exit 2' INT TERM

port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
port_free "$PORT" || die "port $PORT is in use (--port)"
port_free "$REF_PORT" || die "port $REF_PORT is in use (--ref-port)"

setsid "${SRV[@]}" "$STANCE" serve --model "$WORK/stance-model.json" --bind "127.0.0.1:$PORT" --workers "$WORKERS" \
  > "$WORK/stance-serve.log" 2>&1 < /dev/null &
PIDS+=($!)
REF_MODEL="$WORK/ref-model.joblib" setsid "${SRV[@]}" "$VENV/bin/uvicorn" --app-dir "$ROOT/scripts" \
  reference_service:app --host 127.0.0.1 --port "$REF_PORT" --workers "$WORKERS" \
  > "$WORK/ref-serve.log" 2>&1 < /dev/null &
PIDS+=($!)

wait_ready() { # NAME PORT LOG: poll /healthz for at most 60 s
  for _ in $(seq 1 120); do
    curl -sf -m 2 "http://127.0.0.1:$2/healthz" > /dev/null && return 0
    sleep 0.5
  done
  tail -20 "$3" >&2
  die "$1 did not answer /healthz on port $2 within 60 s"
}
wait_ready "stance serve" "$PORT" "$WORK/stance-serve.log"
wait_ready "reference service" "$REF_PORT" "$WORK/ref-serve.log"
for p in "$PORT" "$REF_PORT"; do
  for kb in 1 20; do
    code="$(curl -s -m 10 -o "$WORK/check-$p-${kb}k.json" -w '%{http_code}' -X POST \
      -H 'Content-Type: application/json' --data-binary "@$WORK/body-${kb}k.json" \
      "http://127.0.0.1:$p/v1/score")" || code="none"
    [ "$code" = 200 ] || die "POST /v1/score on port $p answered $code (see $WORK/check-$p-${kb}k.json)"
  done
done
say "both services answer; ours: $(head -c 120 "$WORK/check-$PORT-1k.json")..."

# --- Measurements -------------------------------------------------------------
LOAD_BEFORE="$(uptime | sed 's/.*load average: //')"
rm -f "$WORK"/peak-*.json "$WORK"/fixed-*.json "$WORK"/control-*.json
load1() { cut -d' ' -f1 /proc/loadavg; }
peak() { # NAME PORT KB RUN -> $WORK/peak-NAME-KBk-rRUN.json
  local out="$WORK/peak-$1-$3k-r$4"
  echo "$(load1)" > "$out.load"
  BENCH_BODY="$WORK/body-$3k.json" timeout $((WARMUP + 30)) "${CLI[@]}" wrk -t "$WRK_THREADS" -c "$CONNECTIONS" \
    -d "${WARMUP}s" -s "$WORK/post.lua" "http://127.0.0.1:$2/v1/score" > /dev/null 2>&1 || true
  BENCH_BODY="$WORK/body-$3k.json" timeout $((DURATION + 60)) "${CLI[@]}" wrk -t "$WRK_THREADS" -c "$CONNECTIONS" \
    -d "${DURATION}s" --timeout 10s -s "$WORK/post.lua" "http://127.0.0.1:$2/v1/score" > "$out.txt" 2>&1 \
    || { cat "$out.txt" >&2; die "wrk failed against $1 ($3 KB)"; }
  grep '^WRKJSON ' "$out.txt" | sed 's/^WRKJSON //' > "$out.json" || die "no wrk result in $out.txt"
  say "peak $1 $3 KB: $(cat "$out.json")"
}
rps_of() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["requests"]/(r["duration_us"]/1e6))' "$1"; }
open_loop() { # OUT RATE URL [OHA ARGS...]: oha at a fixed rate -> OUT.json
  local out="$1" rate="$2" url="$3"
  shift 3
  timeout $((FIXED_DURATION + 60)) "${CLI[@]}" "$OHA" -z "${FIXED_DURATION}s" -c "$CONNECTIONS" -q "$rate" \
    --latency-correction --no-tui --output-format json "$@" "$url" > "$out.json" 2> "$out.err" \
    || { cat "$out.err" >&2; die "oha failed against $url"; }
}
p99_of() { python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["latencyPercentiles"]["p99"]*1e3, 2))' "$1"; }
fixed() { # NAME PORT KB RATE RUN -> $WORK/fixed-NAME-KBk-rRUN.json
  local out="$WORK/fixed-$1-$3k-r$5"
  echo "$(load1)" > "$out.load"
  date +%s.%N > "$out.start"
  open_loop "$out" "$4" "http://127.0.0.1:$2/v1/score" \
    -m POST -H 'Content-Type: application/json' -D "$WORK/body-$3k.json"
  date +%s.%N > "$out.end"
  say "fixed $1 $3 KB at $4 req/s: p99 $(p99_of "$out.json") ms"
}
control() { # PORT KB RATE RUN -> $WORK/control-stance-KBk-rRUN.json
  local out="$WORK/control-stance-$2k-r$4"
  open_loop "$out" "$3" "http://127.0.0.1:$1/healthz"
  say "control GET /healthz at $3 req/s: p99 $(p99_of "$out.json") ms"
}

half() { python3 -c "print(max(1, round($(rps_of "$1") / 2)))"; }
for r in $(seq 1 "$REPEAT"); do
  for kb in 1 20; do
    peak stance "$PORT" "$kb" "$r"
    peak ref "$REF_PORT" "$kb" "$r"
    rate="$(half "$WORK/peak-stance-${kb}k-r$r.json")"
    fixed stance "$PORT" "$kb" "$rate" "$r"
    control "$PORT" "$kb" "$rate" "$r"
    fixed ref "$REF_PORT" "$kb" "$(half "$WORK/peak-ref-${kb}k-r$r.json")" "$r"
  done
done
LOAD_AFTER="$(uptime | sed 's/.*load average: //')"

# --- Table and bars -------------------------------------------------------------
CPU="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
set +e
{
  echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($CPU); load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "Command: scripts/bench_serve.sh --duration $DURATION --connections $CONNECTIONS --warmup $WARMUP --fixed-duration $FIXED_DURATION --wrk-threads $WRK_THREADS --c $C --repeat $REPEAT$([ "$PIN" = 1 ] && echo ' --pin')"
  echo "Cores: $PLACEMENT"
  echo "Binary: target/release/stance built $BUILT (rustc $(rustc --version | cut -d' ' -f2))"
  echo "Training data: $(wc -l < "$WORK/train.jsonl") paragraphs ($(for s in "${SOURCES[@]}"; do basename "$s"; done | tr '\n' ' ' | sed 's/ $//'))"
  echo
  python3 - "$WORK" "$REPEAT" <<'EOF'
import json, os, statistics, sys
work, repeat = sys.argv[1], int(sys.argv[2])
def runs(kind, name, kb, row):
    out = []
    for r in range(1, repeat + 1):
        base = os.path.join(work, f"{kind}-{name}-{kb}k-r{r}")
        with open(base + ".json") as f:
            d = row(json.load(f))
        with open(base + ".load") as f:
            d["load"] = float(f.read())
        out.append(d)
    return out
def median(rs):
    m = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99", "load")}
    m["bad"] = sum(r["bad"] for r in rs)
    m["n"] = sum(r["n"] for r in rs)
    m["runs"] = rs
    return m
def wrk_row(r):
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "p50": r["p50_us"] / 1e3,
            "p99": r["p99_us"] / 1e3, "bad": r["non2xx"] + r["socket_errors"] + r["timeouts"],
            "n": r["requests"]}
def oha_row(r):
    s = r["summary"]
    codes = r.get("statusCodeDistribution", {})
    ok = sum(v for k, v in codes.items() if 200 <= int(k) < 300)
    total = sum(codes.values())
    # "aborted due to deadline": requests still in flight when -z ends, cancelled
    # by oha itself; not an answer from the server, so not counted.
    errs = sum(v for k, v in r.get("errorDistribution", {}).items() if k != "aborted due to deadline")
    p = r["latencyPercentiles"]
    return {"rps": s["requestsPerSec"], "p50": p["p50"] * 1e3, "p99": p["p99"] * 1e3,
            "bad": total - ok + errs, "n": total}
fails = []
print("| document | server | peak req/s | p50 ms | p99 ms | non-2xx | fixed rate req/s | p50 ms | p99 ms | non-2xx |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
res = {}
for kb in (1, 20):
    for name, label in (("stance", "stance serve"), ("ref", "FastAPI + sklearn")):
        pk, fx = median(runs("peak", name, kb, wrk_row)), median(runs("fixed", name, kb, oha_row))
        res[(kb, name)] = (pk, fx)
        print(f"| {kb} KB | {label} | {pk['rps']:,.0f} | {pk['p50']:.2f} | {pk['p99']:.2f} | {pk['bad']} "
              f"| {fx['rps']:,.0f} | {fx['p50']:.2f} | {fx['p99']:.2f} | {fx['bad']} |")
        for what, r in (("closed loop", pk), ("fixed rate", fx)):
            if r["bad"] and name == "stance":
                fails.append(f"{label} {kb} KB {what}: {r['bad']} non-2xx/errors of {r['n']}")
print()
print("Fixed rate: 50% of each server's own peak for that document (open loop, oha -q, latency from the scheduled send time).")
print("non-2xx counts non-2xx answers plus socket errors and client time-outs (wrk --timeout 10s).")
if repeat > 1:
    print(f"Medians of {repeat} runs (non-2xx: sum over the runs).")
print()
print("Per run (1-minute load average when the measurement started):")
for kb in (1, 20):
    for name in ("stance", "ref"):
        pk, fx = res[(kb, name)]
        print(f"- {name} {kb} KB: peak " + ", ".join(f"{r['rps']:,.0f} req/s p99 {r['p99']:.2f} ms (load {r['load']:.1f})" for r in pk["runs"])
              + "; fixed " + ", ".join(f"{r['rps']:,.0f} req/s p99 {r['p99']:.2f} ms (load {r['load']:.1f})" for r in fx["runs"]))
print()
print("| document | req/s ours / ref | p99 ours / ref (closed loop) |")
print("|---|---:|---:|")
for kb in (1, 20):
    (op, _), (rp, _) = res[(kb, "stance")], res[(kb, "ref")]
    print(f"| {kb} KB | {op['rps'] / rp['rps']:.1f}x | {op['p99'] / rp['p99']:.3f} |")
print()
ratio = res[(1, "stance")][0]["rps"] / res[(1, "ref")][0]["rps"]
# Our service's own view: the latency_ms of its per-request log lines during
# the fixed-rate runs (parsing a request to writing the response), which leaves
# out time spent queued in the kernel or waiting for a CPU before it is read.
import re
from datetime import datetime
ansi = re.compile(r"\x1b\[[0-9;]*m")
line_re = re.compile(r"^(\S+)Z .*path=/v1/score .*latency_ms=([0-9.]+)")
logged = []
try:
    with open(os.path.join(work, "stance-serve.log"), errors="replace") as f:
        for line in f:
            m = line_re.match(ansi.sub("", line))
            if m:
                logged.append((datetime.fromisoformat(m.group(1) + "+00:00").timestamp(), float(m.group(2))))
except OSError:
    pass
def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")
if logged:
    parts = []
    for kb in (1, 20):
        lat = []
        for r in range(1, repeat + 1):
            base = os.path.join(work, f"fixed-stance-{kb}k-r{r}")
            t0, t1 = float(open(base + ".start").read()), float(open(base + ".end").read())
            lat += [l for t, l in logged if t0 <= t <= t1]
        parts.append(f"{kb} KB: {len(lat)} requests, p50 {pct(lat, 0.5):.2f} ms, p99 {pct(lat, 0.99):.2f} ms")
    print("stance serve's own latency (its log's latency_ms) during the fixed-rate runs: " + "; ".join(parts) + ".")
    print()
control = []
for kb in (1, 20):
    p99s = []
    for r in range(1, repeat + 1):
        try:
            with open(os.path.join(work, f"control-stance-{kb}k-r{r}.json")) as f:
                p99s.append(json.load(f)["latencyPercentiles"]["p99"] * 1e3)
        except (OSError, KeyError, ValueError):
            pass
    if p99s:
        control.append(f"at the {kb} KB rate p99 {statistics.median(p99s):.2f} ms (runs: "
                       + ", ".join(f"{v:.2f}" for v in p99s) + ")")
if control:
    print("Control, GET /healthz on stance serve at the same fixed rates (no scoring): " + "; ".join(control) + ".")
    print()
verdicts = [(ratio >= 10, f">= 10x the reference's req/s on 1 KB: {ratio:.1f}x")]
for kb in (1, 20):
    fx = res[(kb, "stance")][1]
    verdicts.append((fx["p99"] < 5.0, f"p99 < 5 ms at 50% of our peak, {kb} KB: {fx['p99']:.2f} ms at {fx['rps']:,.0f} req/s"))
verdicts.append((not fails, "zero non-2xx from stance serve: " + ("yes" if not fails else "; ".join(fails))))
for ok, text in verdicts:
    print(f"- {'PASS' if ok else 'FAIL'}: {text}")
sys.exit(0 if all(ok for ok, _ in verdicts) else 1)
EOF
} | tee "$WORK/table.md"
exit "${PIPESTATUS[0]}"
