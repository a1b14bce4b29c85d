"""One family of user errors (errors.UserError), caught in one place per front end; anything
else is a fault of the program and is never shown to a user as if it were theirs."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import signal
import threading

import pytest

import xmem_demo
from xmem_demo import cli, portable
from xmem_demo.errors import InputError, UserError

# Exceptions of the package that are not a user's to fix: signals between our own modules, and
# SIGTERM unwinding like Ctrl-C. Each is caught inside the package or ends the process.
NOT_USER_ERRORS = {
    "xmem_demo.video.readers.DecoderFailed": "a decoder gave up: choose_reader falls back to the decodable start",
    "xmem_demo.model.efficientnet_lite.TrunkMissing": "caught by weights/checkpoint, which raise WeightsError",
    "xmem_demo.portable.Terminated": "SIGTERM, unwinding like Ctrl-C",
}


def _package_exceptions() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(xmem_demo.__path__, "xmem_demo."):
        if info.name.endswith("__main__"):  # running it would start the program
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == info.name:
                found[f"{info.name}.{value.__name__}"] = value
    return found


def test_every_error_of_the_package_is_a_user_error_or_named_as_internal():
    found = _package_exceptions()
    assert set(NOT_USER_ERRORS) <= set(found), "an exception listed here no longer exists: update the list"
    strays = sorted(name for name, cls in found.items() if name not in NOT_USER_ERRORS and not issubclass(cls, UserError))
    assert strays == [], f"derive these from errors.UserError (or name them in NOT_USER_ERRORS): {strays}"
    # The family keeps its built-in bases, so `except ValueError` around a library call still works.
    for name in ("xmem_demo.errors.VideoError", "xmem_demo.errors.MaskError", "xmem_demo.checkpoint.CheckpointError",
                 "xmem_demo.live.frames.FrameError", "xmem_demo.video.pillow.ImageRefused"):
        assert issubclass(found[name], ValueError), name
    for name in ("xmem_demo.weights.WeightsError", "xmem_demo.clicks.sam2_model.ClickModelError"):
        assert issubclass(found[name], RuntimeError), name


def test_cli_prints_a_user_error_as_one_line_and_lets_a_bug_through(monkeypatch, capsys):
    def refuse(args):
        raise InputError("--size 7 is too small")

    monkeypatch.setattr(cli, "cmd_eval", refuse)
    assert cli.main(["eval", "a", "b"]) == 2
    assert capsys.readouterr().err.strip() == "xmem-demo: error: --size 7 is too small"

    def bug(args):
        raise ValueError("a programming error")

    monkeypatch.setattr(cli, "cmd_eval", bug)
    with pytest.raises(ValueError, match="a programming error"):  # a traceback, not "error: ..." exit 2
        cli.main(["eval", "a", "b"])


def test_app_shows_user_errors_and_oserrors_but_not_bugs(caplog):
    gr = pytest.importorskip("gradio")
    from xmem_demo.app.visitor_errors import visitor_errors

    def raising(err):
        @visitor_errors
        def handler():
            raise err

        @visitor_errors
        def generator():
            yield 1
            raise err

        return handler, generator

    for fn in raising(InputError("the mask is empty")):
        with pytest.raises(gr.Error, match="the mask is empty"):
            list(fn()) if fn.__name__ == "generator" else fn()
    assert not caplog.records  # the visitor's own error: nothing for the server's log

    with caplog.at_level(logging.ERROR, logger="xmem_demo.app.visitor_errors"):
        with pytest.raises(gr.Error, match="No space left"):
            raising(OSError(28, "No space left on device"))[0]()
    assert caplog.records and caplog.records[-1].exc_info  # the server's problem: logged with its traceback

    for fn in raising(KeyError("a programming error")):
        with pytest.raises(KeyError):  # reaches Gradio (and its log) as it is
            list(fn()) if fn.__name__ == "generator" else fn()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_sigterm_unwinds_and_restores_the_previous_handler():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(portable.Terminated):
        with portable.sigterm_unwinds():
            signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == before

    seen = []
    signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:  # only_if_default: a handler someone else installed (the CLI's) stays in charge
        with portable.sigterm_unwinds(lambda: SystemExit(143), only_if_default=True):
            signal.raise_signal(signal.SIGTERM)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, before)
