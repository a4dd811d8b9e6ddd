#!/bin/bash
# The commit path on PostgreSQL: alternates two release builds (copied to
# /tmp/herald-old and /tmp/herald-new), three times each, on a fresh
# database `bench` every run (deploy/bench-cluster.sh starts the nodes):
#   1 node:  8 writers back to back, 10 s;
#   3 nodes: 8 writers on each node at once (one shared room), 10 s;
#   1 node:  single writes at 1,000 requests/s (8 writers, paced): latency.
# Prints one line per run; the JSON of every run goes to /tmp/bench-pg.jsonl.
set -u
bench=/tmp/herald-new/herald-bench
out=/tmp/bench-pg.jsonl
: > "$out"
pid_on() { # port -> pid of the herald listening there
  ss -ltnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2
}
ready() { # port
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/readyz" && return; sleep 0.1; done
}
line() { # label json...
  python3 - "$@" <<'PY'
import json, sys
label, runs = sys.argv[1], [json.loads(a) for a in sys.argv[2:]]
events = sum(r["persisted"] for r in runs)
secs = max(r["elapsed_s"] for r in runs)
cpu_us = sum(r["server_cpu_us_per_event"] * r["persisted"] for r in runs) / max(events, 1)
p99 = max(r["latency_ms"]["p99"] for r in runs)
p50 = max(r["latency_ms"]["p50"] for r in runs)
tool = sum(r["tool_cpu_pct"] for r in runs)
errors = sum(r["errors"] for r in runs)
print(f"{label:28} {events/secs:8.0f} ev/s  {cpu_us:6.1f} us/ev  p50 {p50:6.2f} p99 {p99:6.2f} ms  errors {errors}  tool {tool:.0f}%")
PY
}
run() { # build nodes label bench-args...
  b=$1; n=$2; label=$3; shift 3
  deploy/bench-cluster.sh "/tmp/herald-$b/herald" "$n" > /dev/null 2>&1
  for i in $(seq 1 "$n"); do ready "1909$i"; done
  jsons=()
  tmp=$(mktemp -d)
  for i in $(seq 1 "$n"); do
    $bench --url "http://127.0.0.1:1909$i" --mode writes --secs 10 --server-pid "$(pid_on 1909$i)" "$@" > "$tmp/$i" 2>&1 &
  done
  wait
  for i in $(seq 1 "$n"); do
    j=$(grep '^{' "$tmp/$i"); echo "$j" >> "$out"; jsons+=("$j")
  done
  line "$b $label" "${jsons[@]}"
  pkill -f "/tmp/herald-$b/herald serve"; sleep 0.5; rm -rf "$tmp"
}
for r in 1 2 3; do
  for b in old new; do
    run $b 1 "1 node, 8 writers" --writers 8
    run $b 3 "3 nodes, 8 writers each" --writers 8
    run $b 1 "1 node, 1k writes/s" --writers 8 --write-rate 1000
  done
done
