#!/bin/bash
# Fan-out, old and new builds alternating (copied to /tmp/herald-old and
# /tmp/herald-new), twice each, a fresh SQLite database every run:
#   10,000 clients x 5 events/s, unbatched (HERALD__WS__BATCH_WINDOW_MS=0;
#   all clients share one address, so the per-address cap is raised),
#   with `perf record` on the server during the publish phase: the share
#   of the server's CPU samples outside the kernel (herald's own work);
#   1,000 clients x 500 events/s, default settings: delivered events/s.
set -u
bench=/tmp/herald-new/herald-bench
run() { # build perf? env... -- bench-args...
  b=$1; prof=$2; shift 2
  envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  d=$(mktemp -d /tmp/bf.XXXX)
  env "${envs[@]}" HERALD__DATABASE__URL="sqlite://$d/bench.db" HERALD__SERVER__BIND=127.0.0.1:18080 \
    RUST_LOG=warn "/tmp/herald-$b/herald" serve > "$d/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:18080/healthz && break; sleep 0.1; done
  $bench --url http://127.0.0.1:18080 --server-pid $pid "$@" > "$d/out" 2>&1 &
  tool=$!
  share=""
  if [ "$prof" = perf ]; then
    # The clients connect first (10,000 at 2,000/s): profile the publish phase.
    sleep 8
    perf record -F 499 -p $pid -o "$d/perf.data" -- sleep 6 > /dev/null 2>&1
    share=$(perf report -i "$d/perf.data" --sort dso --stdio 2>/dev/null |
      awk '/%/ && $1 ~ /%$/ { v=$1; sub("%","",v); if ($2 ~ /kernel/) k+=v; else u+=v }
           END { printf "user %.1f %% (kernel %.1f %%)", u, k }')
  fi
  wait $tool
  r=$(grep '^{' "$d/out")
  echo "$b $* | $(echo "$r" | python3 -c 'import json,sys; j=json.load(sys.stdin); print("delivered %.0f/s lost %s dup %s p99 %s ms server %.0f%% tool %.0f%%" % (j.get("delivered_per_s",0), j.get("lost"), j.get("duplicates"), j.get("latency_ms",{}).get("p99"), j.get("server_cpu_pct") or 0, j.get("tool_cpu_pct") or 0))' 2>/dev/null || tail -3 "$d/out") $share"
  kill $pid; wait $pid 2>/dev/null; rm -rf "$d"
}
for r in 1 2; do
  for b in old new; do
    run $b perf HERALD__WS__BATCH_WINDOW_MS=0 HERALD__SERVER__MAX_CONNECTIONS_PER_IP=20000 -- --clients 10000 --rate 5 --secs 10
    run $b none -- --clients 1000 --rate 500 --secs 10
  done
done
