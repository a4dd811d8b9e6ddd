#!/usr/bin/env bash
# Installs the real Socket.IO clients the tests drive (pinned versions) into
# target/clients: a Python venv with python-socketio, and node_modules with
# socket.io-client. Idempotent: a stamp file names what is installed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${HERALD_CLIENTS_DIR:-$root/target/clients}"
mkdir -p "$dir"

python_pins="python-socketio==5.18.1 python-engineio==4.15.1 aiohttp==3.14.5"
node_pins="socket.io-client@4.8.4 playwright-core@1.65.1"

if [ "$(cat "$dir/python.stamp" 2>/dev/null)" != "$python_pins" ]; then
  rm -rf "$dir/venv"
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check $python_pins
  echo "$python_pins" > "$dir/python.stamp"
fi

if [ "$(cat "$dir/node.stamp" 2>/dev/null)" != "$node_pins" ]; then
  rm -rf "$dir/node"
  mkdir -p "$dir/node"
  (cd "$dir/node" && echo '{"private":true}' > package.json \
    && npm install --silent --no-audit --no-fund $node_pins >/dev/null)
  echo "$node_pins" > "$dir/node.stamp"
fi
echo "$dir"
