#!/usr/bin/env bash
# Quick start: install xmem-demo from this checkout (CPU torch 2.13.0, then the package with its
# app, notebook and test extras), then start the app on http://127.0.0.1:7860 (arguments go to
# app.py, e.g. --port 8080). The page opens with the bundled judo clip loaded: click the object,
# press Track; or upload your own.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
echo "== xmem-demo setup, step 1/2: installing (the first time this downloads torch and the app's packages"
echo "   and takes a few minutes; pip shows its progress below)"
XMEM_INSTALL_QUIET=0 bash scripts/install.sh
echo "== installed in $(( $(date +%s) - started )) s"
echo "== step 2/2: starting the app on http://127.0.0.1:7860 (or the --host/--port you gave); Ctrl+C stops it."
echo "   The page opens with the bundled judo clip loaded: click the object, press Track (or upload your own)."
exec python3 app.py "$@"
