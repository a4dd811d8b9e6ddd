#!/bin/bash
# Alternates two release builds (copied to /tmp/herald-old and /tmp/herald-new):
# 8 writers for 10 s on a fresh SQLite database each run, then --bulk 1000 on the new one.
run() { # build extra-args...
  b=$1; shift
  d=$(mktemp -d /tmp/bw.XXXX)
  HERALD__DATABASE__URL=sqlite://$d/bench.db HERALD__SERVER__BIND=127.0.0.1:18080 RUST_LOG=warn /tmp/herald-$b/herald serve > $d/log 2>&1 &
  pid=$!
  for i in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:18080/healthz && break; sleep 0.1; done
  echo "### $b $*"
  /tmp/herald-new/herald-bench --url http://127.0.0.1:18080 --mode writes --secs 10 --server-pid $pid "$@" 2>&1 | grep -iE "persisted|cpu|p99|µs|writes/s|events/s|bench" | head -12
  kill $pid; wait $pid 2>/dev/null; rm -rf $d
}
for r in 1 2 3; do
  run old --writers 8
  run new --writers 8
done
run new --writers 8 --bulk 1000
run new --writers 8 --bulk 1000
