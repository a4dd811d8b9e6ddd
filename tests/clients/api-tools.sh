#!/usr/bin/env bash
# Installs the API contract tools the tests drive (pinned versions) into a
# Python venv under target/clients: schemathesis, which fuzzes a live herald
# with its OpenAPI document, and openapi-spec-validator, which checks that
# document against OpenAPI 3.1. Idempotent: a stamp file names what is
# installed. Prints the venv's folder.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${HERALD_CLIENTS_DIR:-$root/target/clients}"
mkdir -p "$dir"

pins="schemathesis==4.32.5 openapi-spec-validator==0.9.0"

if [ "$(cat "$dir/api-tools.stamp" 2>/dev/null)" != "$pins" ]; then
  rm -rf "$dir/api-venv"
  python3 -m venv "$dir/api-venv"
  "$dir/api-venv/bin/pip" install --quiet --disable-pip-version-check $pins
  echo "$pins" > "$dir/api-tools.stamp"
fi
echo "$dir/api-venv"
