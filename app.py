"""xmem-demo web app: click an object in a video, XMem tracks it (Gradio; also the HF Space entry).

    python app.py                     # http://127.0.0.1:7860  (after pip install: xmem-demo app)
    python app.py --port 8080 --host 0.0.0.0

Options and environment variables: xmem_demo/app/serve.py.
"""

from __future__ import annotations

import os

if os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true", "yes"):
    # A Hugging Face ZeroGPU Space: `spaces` patches torch, so it comes first (xmem_demo/app/gpu.py).
    import spaces  # noqa: F401

from xmem_demo.app.serve import main  # noqa: E402

if __name__ == "__main__":
    main()
