"""xmem-demo web app: click an object in a video, XMem tracks it (Gradio; also the HF Space entry).

    python app.py                     # http://127.0.0.1:7860
    python app.py --port 8080 --host 0.0.0.0

Environment: XMEM_DEMO_WEIGHTS (auto | mini | xmem | path.pth), XMEM_DEMO_OFFLINE=1 (never
download), XMEM_DEMO_CACHE (weights cache folder). Limits: xmem_demo/app/limits.py.
"""

from __future__ import annotations

import argparse
import os

if os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true", "yes"):
    # A Hugging Face ZeroGPU Space: `spaces` patches torch, so it comes first (xmem_demo/app/gpu.py).
    import spaces  # noqa: F401

from xmem_demo.app import build_demo, launch_options  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    args = parser.parse_args()
    demo = build_demo()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, **launch_options())


if __name__ == "__main__":
    main()
