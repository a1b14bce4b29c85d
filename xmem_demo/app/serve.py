"""Starting the web app: `xmem-demo app` (after any install) and `python app.py` (a checkout,
a Hugging Face Space) both end here.

Environment: XMEM_DEMO_WEIGHTS (auto | mini | xmem | path.pth), XMEM_DEMO_OFFLINE=1 (never
download), XMEM_DEMO_CACHE (weights cache folder), GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
(the defaults of --host / --port). Limits: xmem_demo/app/limits.py.
"""

from __future__ import annotations

import argparse
import os

DESCRIPTION = "xmem-demo web app: click an object in a video, XMem tracks it"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to serve on; 0.0.0.0 to share on a LAN (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                        help="port (default: 7860)")
    parser.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    return parser


def serve(host: str = "127.0.0.1", port: int = 7860, share: bool = False) -> None:
    """Build the app and serve it until interrupted."""
    from ..threads import apply_thread_policy, choose_threads
    from . import build_demo, launch_options
    from .limits import MAX_CONCURRENT_RUNS

    # Before any worker thread starts: the tracking runs (and live streams) of all visitors
    # share the cores, each with cores // MAX_CONCURRENT_RUNS threads (xmem_demo/threads.py).
    policy = apply_thread_policy(choose_threads("app", jobs=MAX_CONCURRENT_RUNS))
    print(f"xmem-demo app: threads {policy.describe()}", flush=True)
    demo = build_demo()
    demo.launch(server_name=host, server_port=port, share=share, **launch_options())


def main(argv: list[str] | None = None) -> None:
    args = add_arguments(argparse.ArgumentParser(description=DESCRIPTION)).parse_args(argv)
    serve(args.host, args.port, args.share)
