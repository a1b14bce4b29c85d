#!/usr/bin/env bash
# A fresh virtual environment without decord (what a Mac, Linux ARM or a plain `pip install`
# gets): install the package as a user would (not editable; CPU torch first, as everywhere in
# CI; the app without sam2, the test tools), check that decord cannot be imported, then run the
# video, CLI, app and portability tests there, on PyAV. The tests import the checkout's package
# files (pytest puts the repository root first on the path) with this environment's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$VENV")"' EXIT
python3 -m venv "$VENV"   # no --system-site-packages: nothing of the machine's Python shows through
PY="$VENV/bin/python"
pip_install() {  # quiet, less the local index mirror's one-line notices about packages it lacks
    "$PY" -m pip install --quiet "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}
pip_install torch==2.13.0
pip_install ".[app-core,dev]"
if "$PY" -c "import decord" 2>/dev/null; then
    echo "error: decord is importable in the PyAV venv" >&2
    exit 1
fi
"$PY" -c "import av, torch; from xmem_demo.video import video_decoder; print('== PyAV venv:', 'av', av.__version__, '| torch', torch.__version__, '| decoder', video_decoder())"
env -u XMEM_DEMO_VIDEO_DECODER "$PY" -m pytest -q -p no:cacheprovider \
    tests/test_video.py tests/test_input_checks.py tests/test_cli.py tests/test_cli_help.py tests/test_portable.py \
    tests/test_app_entry.py tests/test_app_api.py tests/test_install.py
