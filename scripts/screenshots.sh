#!/usr/bin/env bash
# Regenerates README's screenshots with the app's own offscreen renderer (`taskmem screenshot`;
# no window or display needed): the demo stream memorized by the shipped policy (General lane)
# and with the shipped Action Recognition adapter, answered from memory, then one picture per view.
set -euo pipefail
cd "$(dirname "$0")/.."
# TASKMEM_BIN=target/debug/taskmem uses a build at hand instead (the pictures are the same; the
# release build is only faster at memorizing).
bin=${TASKMEM_BIN:-}
if [[ -z $bin ]]; then
  cargo build --release --locked
  bin=target/release/taskmem
fi
stream=datasets/world-mme/test/world-mme-test-00
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
p=$work/demo
"$bin" import world "$stream" --project "$p"
"$bin" ingest "$stream/video.mp4" --project "$p" --stream world-mme-test-00
"$bin" ingest "$stream/video.mp4" --project "$p" --stream world-mme-test-00 \
  --adapter assets/demo/action.safetensors
"$bin" eval --project "$p" --out "$p/eval/run-1"
for view in timeline inspector tasks phase2 eval; do
  "$bin" screenshot --project "$p" --view "$view" --size 1600x900 --out "screenshots/$view.png"
done
"$bin" chart "$p/eval/run-1" --out screenshots/eval-chart.png
ls -l screenshots
