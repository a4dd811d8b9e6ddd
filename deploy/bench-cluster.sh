#!/usr/bin/env bash
# Starts N herald nodes (binary BIN) on a fresh PostgreSQL database `bench`,
# on 127.0.0.1:19091.., for the cluster benchmarks in docs/BENCHMARKS.md.
# usage: EXTRA="HERALD__WS__BATCH_WINDOW_MS=0" deploy/bench-cluster.sh BIN N
set -euo pipefail
BIN=$1; N=$2
pkill -f "$BIN serve" || true; sleep 0.5
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
for i in $(seq 1 "$N"); do
  dir=$(mktemp -d)
  (cd "$dir" && env ${EXTRA:-} HERALD__DATABASE__URL=postgres://postgres@127.0.0.1:5432/bench \
     HERALD__SERVER__BIND=127.0.0.1:1909$i HERALD__CLUSTER__NODE_ID=n$i "$BIN" serve > log 2>&1 &)
  sleep 1.2   # the first node migrates; the others find nothing to do
done
