# Shared set-up of scripts/bench_serve.sh and scripts/bench_score.sh: the
# Python venv, the release binary (a private copy), and both models trained
# on the same data. Sourced, not run; expects ROOT, VENV, REQS, BUILD, WORK, C
# and the say/die functions of the calling script. Sets PY, STANCE, BUILT.

bench_setup() {
  STAMP="$VENV/.requirements.sha256"
  want="$(cat "${REQS[@]}" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed"
    local reqs=()
    for r in "${REQS[@]}"; do reqs+=(-r "$r"); done
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${reqs[@]}" \
      || die "pip install failed"
    echo "$want" > "$STAMP"
  fi
  PY="$VENV/bin/python"

  if [ "$BUILD" = 1 ]; then
    cargo build --release --quiet || die "cargo build --release failed"
  fi
  [ -x "$ROOT/target/release/stance" ] || die "target/release/stance is missing (drop --no-build)"
  mkdir -p "$WORK"
  # A private copy: the shared target/release/stance may be rebuilt during the run.
  cp "$ROOT/target/release/stance" "$WORK/stance"
  BUILT="$(date -u -r "$ROOT/target/release/stance" '+%Y-%m-%d %H:%M UTC')"
  STANCE="$WORK/stance"
  if [ -f "$ROOT/training_data/train.jsonl" ]; then
    SOURCES=("$ROOT/training_data/train.jsonl")
  else
    shopt -s nullglob
    SOURCES=("$ROOT"/training_data/parts/*.train.jsonl)
    shopt -u nullglob
    [ ${#SOURCES[@]} -gt 0 ] || die "no training_data/train.jsonl nor training_data/parts/*.train.jsonl"
    say "training_data/train.jsonl absent: using the ${#SOURCES[@]} parts/*.train.jsonl files"
  fi
  cat "${SOURCES[@]}" > "$WORK/train.jsonl"
  say "training both models on $(wc -l < "$WORK/train.jsonl") paragraphs (C=$C)"
  "$STANCE" train --data "$WORK/train.jsonl" --out "$WORK/stance-model.json" --force --cv 0 --c "$C" \
    > "$WORK/stance-train.log" 2>&1 || { cat "$WORK/stance-train.log" >&2; die "stance train failed"; }
  "$PY" "$ROOT/scripts/reference_service.py" train --data "$WORK/train.jsonl" \
    --out "$WORK/ref-model.joblib" --c "$C" 2> "$WORK/ref-train.log" \
    || { cat "$WORK/ref-train.log" >&2; die "reference training failed"; }
}
