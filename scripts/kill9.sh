#!/usr/bin/env bash
# Kill -9 soak: N kills at random moments, spread over ingest, memory imports (egorag, demo) and
# task import. After each kill the project must open, and rerunning the killed command must
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
  "$bin" export memory --project "$1" --format jsonl --out "$work/out.jsonl" >/dev/null 2>&1 || { echo open-failed; return; }
  python3 -c "import json,sys; ids=[json.loads(l).get('id') for l in open(sys.argv[1]) if l.strip()]; print(len(ids) if len(ids)==len(set(ids)) else 'duplicate-ids')" "$work/out.jsonl"
}
count_tasks() {
  "$bin" export tasks --project "$1" --format jsonl --out "$work/out.jsonl" >/dev/null 2>&1 || { echo open-failed; return; }
  grep -c . "$work/out.jsonl"
}

declare -A cmd expected
cmd[egorag]="import egorag $work/captions.json --project"
cmd[demo]="import demo tests/assets/taskmem_demo_memories.json --project"
cmd[tasks]="import tasks $work/tasks.jsonl --format jsonl --project"
cmd[ingest]="ingest $video --lane soak --project"
kinds=(egorag demo tasks ingest)

counter() { [[ $1 == tasks ]] && count_tasks "$2" || count_entries "$2"; }

for kind in "${kinds[@]}"; do # the uninterrupted reference runs
  p="$work/ref-$kind"
  "$bin" ${cmd[$kind]} "$p" >/dev/null 2>&1 || { echo "reference $kind failed"; exit 1; }
  expected[$kind]=$(counter "$kind" "$p")
  echo "reference $kind: ${expected[$kind]}"
done

failures=0
for i in $(seq 1 "$n"); do
  kind=${kinds[$((i % ${#kinds[@]}))]}
  p="$work/p$i"
  "$bin" ${cmd[$kind]} "$p" >/dev/null 2>&1 &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  after_kill=$(counter "$kind" "$p")
  "$bin" ${cmd[$kind]} "$p" >/dev/null 2>"$work/rerun.err"
  rc=$?
  got=$(counter "$kind" "$p")
  status=ok
  [[ $after_kill == open-failed && -d $p && -f $p/project.json ]] && status="did-not-open-after-kill"
  [[ $got != "${expected[$kind]}" ]] && status="rerun-gave-$got (rc $rc: $(head -c 200 "$work/rerun.err"))"
  [[ $status != ok ]] && failures=$((failures + 1))
  echo "kill $i $kind: after kill $after_kill, after rerun $got, expected ${expected[$kind]}: $status"
  rm -rf "$p"
done
echo "kill -9 soak: $n kills, $failures failures"
[[ $failures -eq 0 ]]
