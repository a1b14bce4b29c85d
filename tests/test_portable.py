"""Windows has no fcntl, resource, pthread_sigmask or os.pread, and its os.kill(pid, 0) sends
CTRL_C: nothing may need them at import time, and the CLI must run without them.

The main test runs in a fresh interpreter where those modules cannot be imported and those
functions do not exist (a sys.meta_path blocker, installed before xmem_demo is imported):
it imports every module of the package and app.py, then runs `segment` on the bundled clip
and `eval` on its output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xmem_demo import portable

REPO = Path(__file__).resolve().parents[1]

# Modules that exist on POSIX only (and decord, which has no macOS or Linux ARM wheels) that the
# subprocess blocks. termios, pwd and grp are not blocked there: third-party packages import them
# behind their own platform checks (huggingface_hub imports termios on Linux); that our own code
# never imports them is checked on the source (test_no_posix_only_import_in_our_code).
UNIX_ONLY = ("fcntl", "resource", "decord")
POSIX_ONLY = ("fcntl", "resource", "termios", "tty", "pty", "pwd", "grp", "posix", "syslog", "crypt", "spwd")

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, os, signal, sys

    BLOCKED = {UNIX_ONLY!r}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked: not on Windows")
            return None

    for name in BLOCKED:
        sys.modules.pop(name, None)
    sys.meta_path.insert(0, Blocker())
    for name in ("pthread_sigmask", "pthread_kill", "sigwait"):
        if hasattr(signal, name):
            delattr(signal, name)
    for name in ("pread", "pwrite", "fork", "getuid", "setsid"):
        if hasattr(os, name):
            delattr(os, name)

    def kill(pid, sig):  # on Windows os.kill(pid, 0) sends CTRL_C_EVENT: it must never be called
        raise AssertionError(f"os.kill({{pid}}, {{sig}}) called")

    os.kill = kill
    """
)

CHECK = BLOCKER + textwrap.dedent(
    """
    import importlib, json, pkgutil, runpy, warnings
    from pathlib import Path

    import xmem_demo
    modules = [m.name for m in pkgutil.walk_packages(xmem_demo.__path__, "xmem_demo.")]
    for name in modules:
        importlib.import_module(name)
    runpy.run_path(str(Path(sys.argv[1]) / "app.py"), run_name="not_main")  # imports gradio and the app
    for name in BLOCKED:
        assert name not in sys.modules, name

    from xmem_demo import cli
    from xmem_demo.resources import EXAMPLE_CLIP, EXAMPLE_MASK
    from xmem_demo.video import video_decoder
    assert video_decoder() == "pyav", video_decoder()
    out = Path(sys.argv[2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = cli.main(["segment", str(EXAMPLE_CLIP), "--mask", str(EXAMPLE_MASK), "--out", str(out / "judo"),
                         "--weights", "mini", "--size", "64", "--device", "cpu", "--precision", "fp32"])
    assert code == 0, code
    assert any("no file lock" in str(w.message) for w in caught), [str(w.message) for w in caught]
    summary = json.loads((out / "judo" / "summary.json").read_text())
    assert summary["status"] == "done" and summary["frames"] == 62, summary
    assert summary["peak_rss_mib"] and summary["peak_rss_mib"] > 0, summary  # from /proc without `resource`
    assert cli.main(["eval", str(out / "judo" / "masks"), str(out / "judo" / "masks")]) == 0
    print("imported", len(modules), "modules; segment and eval ran without", ", ".join(BLOCKED))
    """
)


@pytest.mark.slow
def test_every_module_imports_and_the_cli_runs_without_unix_only_modules(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "XMEM_DEMO_OFFLINE": "1"}
    env.pop("XMEM_DEMO_VIDEO_DECODER", None)
    run = subprocess.run([sys.executable, "-c", CHECK, str(REPO), str(tmp_path)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "segment and eval ran without" in run.stdout


def test_the_blocker_really_blocks(tmp_path):
    """The check above would prove nothing if the blocker let the modules through."""
    code = BLOCKER + textwrap.dedent(
        """
        for name in BLOCKED:
            try:
                __import__(name)
            except ImportError:
                continue
            raise SystemExit(f"{name} imported")
        assert not hasattr(signal, "pthread_sigmask") and not hasattr(os, "pread")
        print("blocked")
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "blocked" in run.stdout, run.stderr


def test_no_posix_only_import_in_our_code():
    """No module of ours (nor app.py) imports a POSIX-only module, at the top or inside a function
    (except portable.py, which asks for fcntl and resource by name and copes without them)."""
    import ast

    found = []
    for path in [REPO / "app.py", *sorted((REPO / "xmem_demo").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += [f"{path.relative_to(REPO)}:{node.lineno} {n}" for n in names if n.split(".")[0] in POSIX_ONLY]
    assert found == []


# ---- the pieces, one by one ------------------------------------------------------------------
def test_pid_alive_without_sending_anything():
    assert portable.pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not portable.pid_alive(child.pid)  # reaped: the id is free (reuse within ms is not a concern here)
    assert not portable.pid_alive(0) and not portable.pid_alive(-1)


def test_peak_rss_is_measured():
    peak = portable.peak_rss_mib()
    assert peak is not None and 10 < peak < 64 * 1024  # a Python with torch imported: tens of MiB at least


def test_deferred_signals_without_pthread_sigmask_delivers_after_the_block(monkeypatch):
    """The Windows path: a SIGINT inside the block interrupts only after it."""
    monkeypatch.delattr(signal, "pthread_sigmask")
    reached_end = False
    with pytest.raises(KeyboardInterrupt):
        with portable.deferred_signals():
            signal.raise_signal(signal.SIGINT)
            reached_end = True
    assert reached_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


# A stand-in for Windows' msvcrt on Linux, on POSIX byte-range locks (fcntl.lockf), which like
# msvcrt.locking lock a byte range from the current position and are dropped at exit. It checks
# that the lock is taken where Windows needs it (away from the pid at offset 0) and that a
# second process is refused with the owner's pid.
FAKE_MSVCRT = textwrap.dedent(
    """
    import fcntl, os, sys, types
    from xmem_demo import portable

    def locking(fd, mode, nbytes):
        assert mode == msvcrt.LK_NBLCK and nbytes == 1
        assert os.lseek(fd, 0, os.SEEK_CUR) == portable._WINDOWS_LOCK_OFFSET
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0, os.SEEK_CUR)
        except OSError as err:
            raise PermissionError(13, "Permission denied") from err  # what msvcrt raises

    msvcrt = types.SimpleNamespace(LK_NBLCK=2, locking=locking)
    portable._optional = lambda name: msvcrt if name == "msvcrt" else None
    """
)


def test_the_windows_lock_path_refuses_a_second_run_and_names_the_owner(tmp_path):
    holder = FAKE_MSVCRT + textwrap.dedent(
        """
        from xmem_demo.outdir import OutputDir
        with OutputDir(sys.argv[1]):
            print("holding", flush=True)
            sys.stdin.readline()
        """
    )
    contender = FAKE_MSVCRT + textwrap.dedent(
        """
        from xmem_demo.errors import InputError
        from xmem_demo.outdir import OutputDir
        try:
            OutputDir(sys.argv[1]).acquire()
        except InputError as err:
            print(err)
        else:
            print("acquired")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = tmp_path / "out"
    a = subprocess.Popen([sys.executable, "-c", holder, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env)
    try:
        assert a.stdout.readline().strip() == "holding"
        b = subprocess.run([sys.executable, "-c", contender, str(out)], capture_output=True, text=True, env=env,
                           timeout=120)
        assert f"in use by another xmem-demo run (pid {a.pid})" in b.stdout, b.stdout + b.stderr
    finally:
        a.communicate("\n", timeout=120)
    after = subprocess.run([sys.executable, "-c", contender, str(out)], capture_output=True, text=True, env=env,
                           timeout=120)
    assert after.stdout.strip() == "acquired", after.stdout + after.stderr  # released when the holder ended


def test_no_lock_at_all_is_said_not_hidden(tmp_path, monkeypatch):
    monkeypatch.setattr(portable, "_optional", lambda name: None)
    from xmem_demo import outdir

    monkeypatch.setattr(outdir, "try_lock_file", portable.try_lock_file)
    with pytest.warns(UserWarning, match="no file lock"), outdir.OutputDir(tmp_path / "o"):
        pass


def test_a_stale_download_part_is_removed_only_when_its_process_is_gone(tmp_path):
    from xmem_demo.weights import _remove_orphan_parts

    target = tmp_path / "XMem.pth"
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    mine, gone = tmp_path / f"XMem.pth.{os.getpid()}.part", tmp_path / f"XMem.pth.{child.pid}.part"
    mine.write_bytes(b"x")
    gone.write_bytes(b"x")
    _remove_orphan_parts(target)
    assert mine.exists() and not gone.exists()
