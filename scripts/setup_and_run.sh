#!/usr/bin/env bash
# Quick start: install, then start the app on the bundled example (http://127.0.0.1:7860).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 app.py "$@"
