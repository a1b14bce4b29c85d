"""The app under several visitors: isolation, server memory, disk, and clean-up, measured.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python3 benchmarks/app_sessions.py [--visitors 4] [--sessions 10]

Starts `python app.py` in a subprocess with its own Gradio cache folder (GRADIO_TEMP_DIR), a
short session TTL (XMEM_DEMO_SESSION_TTL_S) and a short janitor period, then

1. `--visitors` HTTP-API clients at once: each loads the example clip, uploads its mask and
   tracks it (Track allows MAX_CONCURRENT_RUNS at once); checks each got its own results;
2. `--sessions` more visitors one after another: the server's RSS after each (flat = no leak);
3. waits for the TTL to pass and reports what is left on disk.

Prints one line per figure. The weights are a tiny random XMem (the figures are about the app,
not the network); --weights mini uses the bundled model instead.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def du(folder: Path) -> tuple[int, int]:
    """(bytes, files) under a folder."""
    total = files = 0
    for p in folder.rglob("*"):
        if p.is_file():
            total += p.stat().st_size
            files += 1
    return total, files


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_weights(folder: Path) -> Path:
    import torch

    from xmem_demo import ModelConfig, XMem, save_checkpoint

    torch.manual_seed(0)
    cfg = dict(key_dim=16, value_dim=16, hidden_dim=8, key_width=8, key_blocks=(1, 1, 1), value_width=8,
               value_blocks=(1, 1, 1), decoder_dims=(16, 16))
    path = folder / "tiny.pth"
    save_checkpoint(XMem(ModelConfig(**cfg)), path)
    return path


def visit(url: str, weights: str, size: int) -> dict:
    from gradio_client import Client, handle_file

    from xmem_demo.resources import EXAMPLE_MASK

    started = time.perf_counter()
    c = Client(url, verbose=False, download_files=False)
    c.predict("judo.mp4", api_name="/load_example")
    c.predict(handle_file(str(EXAMPLE_MASK)), api_name="/upload_mask")
    out = c.predict(weights, "cpu", size, 5, 30, 5, 10, 128, 10000, True, 0, None, api_name="/track")
    info = next((o for o in out if isinstance(o, str) and "frames (" in o), "")
    return {"session": c.session_hash, "info": info, "seconds": time.perf_counter() - started}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--visitors", type=int, default=4)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--size", type=int, default=160, help="processing resolution (short side)")
    p.add_argument("--ttl", type=int, default=60, help="session TTL for this measurement (s)")
    p.add_argument("--weights", default="tiny", help="tiny (random, fast) or mini / a .pth path")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="xmem-app-bench-"))
    cache = work / "gradio"
    weights = str(tiny_weights(work)) if args.weights == "tiny" else args.weights
    port = free_port()
    env = {**os.environ, "GRADIO_TEMP_DIR": str(cache), "XMEM_DEMO_SESSION_TTL_S": str(args.ttl),
           "XMEM_DEMO_SWEEP_EVERY_S": "5", "XMEM_DEMO_OFFLINE": "1", "XMEM_DEMO_WEIGHTS": weights,
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        import urllib.request

        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the app did not start")
                time.sleep(0.5)
        print(f"server started: RSS {rss_mib(server.pid):.0f} MiB")

        # 1. visitors at once
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.visitors) as pool:
            results = list(pool.map(lambda _: visit(url, weights, args.size), range(args.visitors)))
        wall = time.perf_counter() - t0
        sessions = {r["session"] for r in results}
        ok = all("62 frames" in r["info"] for r in results) and len(sessions) == args.visitors
        print(f"{args.visitors} visitors at once: {wall:.1f} s wall, each {min(r['seconds'] for r in results):.1f}-"
              f"{max(r['seconds'] for r in results):.1f} s; distinct sessions and complete results: {ok}")
        sessions_dir = cache / "xmem-demo-sessions"
        s_bytes, s_files = du(sessions_dir)
        c_bytes, c_files = du(cache)
        print(f"disk after {args.visitors} sessions: session folders {s_bytes / 2**20:.2f} MiB in {s_files} files "
              f"({s_bytes / args.visitors / 2**20:.2f} MiB per session); whole Gradio cache {c_bytes / 2**20:.2f} MiB "
              f"in {c_files} files")
        zips = [q for q in cache.rglob("masks.zip")]
        print(f"copies of masks.zip on the server: {len(zips)} for {args.visitors} sessions")
        print(f"server RSS after {args.visitors} concurrent sessions: {rss_mib(server.pid):.0f} MiB")

        # 2. sessions one after another: memory stays flat?
        rss = []
        for _ in range(args.sessions):
            visit(url, weights, args.size)
            rss.append(rss_mib(server.pid))
        print(f"server RSS over {args.sessions} more sessions (MiB): " + " ".join(f"{v:.0f}" for v in rss))

        # 3. expiry: API clients never unload; the TTL and the janitor clean up
        waited = 0.0
        while du(sessions_dir)[1] and waited < args.ttl + 30:
            time.sleep(1)
            waited += 1
        s_bytes, s_files = du(sessions_dir)
        print(f"{waited:.0f} s after the last request (TTL {args.ttl} s): session folders hold {s_files} files "
              f"({s_bytes / 2**20:.2f} MiB); whole Gradio cache {du(cache)[0] / 2**20:.2f} MiB "
              f"(uploads and frame images, swept by Gradio's delete_cache every 10 min after 2 h)")
    finally:
        server.terminate()
        server.wait(30)
    left = du(cache)
    print(f"after server shutdown: Gradio cache {left[0] / 2**20:.2f} MiB in {left[1]} files")


if __name__ == "__main__":
    main()
