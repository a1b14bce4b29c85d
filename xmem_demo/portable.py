"""What the operating system gives differently on Linux, macOS and Windows, in one place.

Nothing here imports a Unix-only module at import time (`fcntl`, `resource` and
`signal.pthread_sigmask` do not exist on Windows, and `os.kill(pid, 0)` there does not test
a process but sends it CTRL_C). Each function uses the best call the platform has:

    try_lock_file(fd)      exclusive non-blocking lock, dropped by the OS when the process ends:
                           fcntl.flock (Linux, macOS), msvcrt.locking (Windows)
    pid_alive(pid)         os.kill(pid, 0) (POSIX), OpenProcess + GetExitCodeProcess (Windows)
    peak_rss_mib()         getrusage (KiB on Linux, bytes on macOS), /proc/self/status,
                           GetProcessMemoryInfo (Windows)
    deferred_signals()     pthread_sigmask (POSIX), else handlers that hold the signal (Windows)
    sigterm_unwinds(...)   SIGTERM raised as an exception for a while, so `finally` blocks run
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType


def _optional(name: str) -> ModuleType | None:
    """A platform module, or None where the platform has none (fcntl on Windows, msvcrt elsewhere)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# Windows: lock one byte far past any pid we write at offset 0, so that the pid stays readable
# (Windows byte-range locks are mandatory: a locked byte cannot be read by another process).
_WINDOWS_LOCK_OFFSET = 2**30


def try_lock_file(fd: int) -> bool | None:
    """Take an exclusive lock on the open file `fd` without waiting.

    True: taken (held until `fd` is closed or the process ends in any way, even killed).
    False: another process holds it. None: this platform offers no file lock (neither fcntl
    nor msvcrt); the caller goes on unguarded and says so."""
    fcntl = _optional("fcntl")
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    msvcrt = _optional("msvcrt")
    if msvcrt is not None:
        position = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)  # msvcrt.locking locks from the file position
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, position, os.SEEK_SET)
        return True
    return None


def read_at(fd: int, size: int, offset: int = 0) -> bytes:
    """os.pread where it exists; else seek and read (Windows has no pread)."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def write_at(fd: int, data: bytes, offset: int = 0) -> None:
    """os.pwrite where it exists; else seek and write."""
    if hasattr(os, "pwrite"):
        os.pwrite(fd, data, offset)
        return
    os.lseek(fd, offset, os.SEEK_SET)
    os.write(fd, data)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a process of another user counts as alive)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: no signal is sent, only the existence check (POSIX)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _windows_pid_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    process_query_limited_information, still_active, access_denied = 0x1000, 259, 5
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return kernel32.GetLastError() == access_denied  # exists, but is not ours to query
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def peak_rss_mib() -> float | None:
    """This process's peak resident memory in MiB, or None where the platform does not say."""
    resource = _optional("resource")
    if resource is not None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
    try:
        with open("/proc/self/status") as status:  # Linux without the resource module
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "win32":
        return _windows_peak_working_set_mib()
    return None


def _windows_peak_working_set_mib() -> float | None:
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):  # PROCESS_MEMORY_COUNTERS (psapi.h)
        _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD)] + [
            (name, ctypes.c_size_t) for name in (
                "PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage", "QuotaPagedPoolUsage",
                "QuotaPeakNonPagedPoolUsage", "QuotaNonPagedPoolUsage", "PagefileUsage", "PeakPagefileUsage")
        ]

    counters = Counters()
    counters.cb = ctypes.sizeof(counters)
    process = ctypes.windll.kernel32.GetCurrentProcess()  # type: ignore[attr-defined]
    if not ctypes.windll.psapi.GetProcessMemoryInfo(process, ctypes.byref(counters), counters.cb):  # type: ignore[attr-defined]
        return None
    return counters.PeakWorkingSetSize / 2**20


_HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM for a few lines; one that arrives is delivered right after.

    POSIX blocks them (pthread_sigmask). Where that does not exist (Windows), handlers that
    only remember the signal are installed for the duration, then the previous handler runs.
    Outside the main thread signals cannot be handled here, and nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if hasattr(signal, "pthread_sigmask"):
        old = signal.pthread_sigmask(signal.SIG_BLOCK, set(_HELD))
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return
    arrived: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: arrived.append(signum)) for sig in _HELD}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in arrived[:1]:
            handler = previous[signum]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)  # the default action, now that it is no longer held


class Terminated(KeyboardInterrupt):
    """SIGTERM (e.g. `kill`, a job scheduler): unwinds like Ctrl-C, so results are closed and described."""

    signal_name = "SIGTERM"


@contextlib.contextmanager
def sigterm_unwinds(error: Callable[[], BaseException] = Terminated, *, only_if_default: bool = False) -> Iterator[None]:
    """For the duration, SIGTERM raises `error()` in the main thread instead of ending the
    process at once, so that every `finally` runs (files closed, `.part` files removed); the
    previous handler comes back afterwards.

    `only_if_default=True` leaves a handler that someone else installed in place (the command
    line's, around a library download). Outside the main thread no handler can be installed
    and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if only_if_default and signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        raise error()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        # None: a handler not installed from Python (nothing to put back that Python knows of)
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
