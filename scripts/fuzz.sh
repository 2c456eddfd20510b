#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a share of the given time, on the nightly toolchain.
#   scripts/fuzz.sh [TOTAL_SECONDS=3600] [TARGET...]      (JOBS=N runs N targets at once)
# Installs cargo-fuzz if missing. Each target's working corpus starts from fuzz/seeds.txt and
# fuzz/corpus/<target>/ and lives in fuzz/work/<target> (ignored by git); crashes land in
# fuzz/artifacts/<target>/. Limits: 10 s per input (a hang), 2 GB of memory (-rss_limit_mb).
# A target that finds a crash stops there (libFuzzer's way) and the others go on.
# At the end it prints executions per target (the figure README reports) and any crash found.
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-3600}
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(mp4 h264 tasks memory project model script)
jobs=${JOBS:-1}
per=$(( total / ${#targets[@]} ))
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
# --sanitizer none: no ASan (safe Rust; the address space limit still catches huge allocations),
# so the target runs at full speed and the build needs no sanitizer runtime.
for t in "${targets[@]}"; do cargo +nightly fuzz build --release --sanitizer none "$t"; done
mkdir -p fuzz/work

fuzz_one() { # target -> its log, fuzz/work/<target>.log
  local t=$1 work=fuzz/work/$1
  mkdir -p "$work" "fuzz/artifacts/$t"
  awk -v t="$t" '$1 == t { print $2 }' fuzz/seeds.txt | while read -r seed; do
    cp -n "$seed" "$work/seed-$(basename "$seed")"
  done
  [[ -d fuzz/corpus/$t ]] && cp -n fuzz/corpus/"$t"/* "$work/" 2>/dev/null
  echo "fuzzing $t for ${per}s (log: fuzz/work/$t.log)"
  cargo +nightly fuzz run --release --sanitizer none "$t" "$work" -- \
    -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" >"fuzz/work/$t.log" 2>&1
  echo $? >"fuzz/work/$t.rc"
}

running=0
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  running=$((running + 1))
  if (( running >= jobs )); then wait -n || true; running=$((running - 1)); fi
done
wait || true

for t in "${targets[@]}"; do
  log=fuzz/work/$t.log
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  peak=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  crashes=$(find "fuzz/artifacts/$t" -type f | wc -l)
  echo "$t: ${execs:-?} executions in ${per}s, peak ${peak:-?} MB, exit $(cat "fuzz/work/$t.rc"), $crashes artifact(s)"
done
