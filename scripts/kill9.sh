#!/usr/bin/env bash
# Kill -9 soak: N kills at random moments (uniform over the command's own uninterrupted run
# time), spread over ingest, memory imports (egorag, demo) and task import. After each kill the project must open, and rerunning the killed command must
# finish with exactly the entries (or tasks) of an uninterrupted run: none lost, none doubled.
#   scripts/kill9.sh [N=100] [TASKMEM=target/debug/taskmem]
# Prints one line per kill and a summary; exits 1 on the first project that does not open or
# holds the wrong count. (Label and task edits happen in the GUI and are not driven here.)
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
bin=${2:-target/debug/taskmem}
work=$(mktemp -d /tmp/taskmem-kill9.XXXXXX)
trap 'rm -rf "$work"' EXIT
video=datasets/world-mme/test/world-mme-test-00/video.mp4

# A large EgoRAG caption file (about 20k captions), so that an import takes long enough to kill.
python3 - "$work/captions.json" <<'PY'
import json, sys
caps = [{"start_time": i * 10.0, "end_time": i * 10.0 + 10.0, "text": f"caption {i}: someone does thing {i}"} for i in range(20000)]
json.dump(caps, open(sys.argv[1], "w"))
PY
# 5000 questions in our JSONL task format.
python3 - "$work/tasks.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(5000):
        f.write(json.dumps({"id": f"q{i}", "stream": "s", "text": f"Question {i}?", "ask_ms": i * 1000}) + "\n")
PY

count_entries() { # project -> number of memory entries; fails if ids repeat
  "$bin" export memory --project "$1" --format jsonl --out "$work/out.jsonl" >/dev/null 2>"$work/open.err" || { echo open-failed; return; }
  python3 -c "import json,sys; ids=[json.loads(l).get('id') for l in open(sys.argv[1]) if l.strip()]; print(len(ids) if len(ids)==len(set(ids)) else 'duplicate-ids')" "$work/out.jsonl"
}
count_tasks() {
  "$bin" export tasks --project "$1" --format jsonl --out "$work/out.jsonl" >/dev/null 2>"$work/open.err" || { echo open-failed; return; }
  grep -c . "$work/out.jsonl" || true
}

declare -A cmd expected
cmd[egorag]="import egorag $work/captions.json --project"
cmd[demo]="import demo tests/assets/taskmem_demo_memories.json --project"
cmd[tasks]="import tasks $work/tasks.jsonl --format jsonl --project"
cmd[ingest]="ingest $video --lane soak --project"
kinds=(egorag demo tasks ingest)

counter() { if [[ $1 == tasks ]]; then count_tasks "$2"; else count_entries "$2"; fi; }

declare -A took_ms
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
for kind in "${kinds[@]}"; do # the uninterrupted reference runs, and how long each takes
  p="$work/ref-$kind"
  start=$(now_ms)
  "$bin" ${cmd[$kind]} "$p" >/dev/null 2>&1 || { echo "reference $kind failed"; exit 1; }
  took_ms[$kind]=$(( $(now_ms) - start ))
  expected[$kind]=$(counter "$kind" "$p")
  echo "reference $kind: ${expected[$kind]} in ${took_ms[$kind]} ms"
done

failures=0
mid_run=0 # kills that left less than the whole result: the command was cut off while it worked
for i in $(seq 1 "$n"); do
  kind=${kinds[$((i % ${#kinds[@]}))]}
  p="$work/p$i"
  "$bin" ${cmd[$kind]} "$p" >/dev/null 2>&1 &
  pid=$!
  # A moment within the command's own run time, so that the kill lands while it works.
  at_ms=$(( (RANDOM * 32768 + RANDOM) % (took_ms[$kind] + 1) ))
  sleep "$(( at_ms / 1000 )).$(printf '%03d' $(( at_ms % 1000 )))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  # A project the kill caught before its project.json was written is no project yet: the rerun
  # must still make it whole. One with a project.json must open.
  had_manifest=no
  [[ -f $p/project.json ]] && had_manifest=yes
  after_kill=$(counter "$kind" "$p")
  cp "$work/open.err" "$work/kill.err" 2>/dev/null
  "$bin" ${cmd[$kind]} "$p" >/dev/null 2>"$work/rerun.err"
  rc=$?
  got=$(counter "$kind" "$p")
  status=ok
  [[ $after_kill == open-failed && $had_manifest == yes ]] &&
    status="did-not-open-after-kill ($(head -c 300 "$work/kill.err" | tr '\n' ' '); files: $(cd "$p" && find . | head -20 | tr '\n' ' '))"
  [[ $got != "${expected[$kind]}" ]] && status="rerun-gave-$got (rc $rc: $(head -c 200 "$work/rerun.err"))"
  [[ $status != ok ]] && failures=$((failures + 1))
  [[ $after_kill != "${expected[$kind]}" ]] && mid_run=$((mid_run + 1))
  echo "kill $i $kind: after kill $after_kill, after rerun $got, expected ${expected[$kind]}: $status"
  rm -rf "$p"
done
echo "kill -9 soak: $n kills ($mid_run cut a command off before its end), $failures failures"
[[ $failures -eq 0 ]]
