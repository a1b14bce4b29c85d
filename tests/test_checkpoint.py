"""Loading checkpoints: the official release format, our own format, and every way a file can be bad."""

from __future__ import annotations

import json

import pytest
import torch

from xmem_demo import CheckpointError, ModelConfig, XMem, load_model, load_model_with_info, save_checkpoint
from xmem_demo.checkpoint import infer_official_config

from .conftest import TINY


def test_state_dict_matches_official_manifest(golden_dir):
    manifest = json.loads((golden_dir / "weights_manifest.json").read_text())
    ours = XMem().state_dict()
    assert list(ours) == list(manifest)  # same keys, same order
    for key, spec in manifest.items():
        assert list(ours[key].shape) == spec["shape"], key
        assert str(ours[key].dtype).removeprefix("torch.") == spec["dtype"], key


def test_official_release_format_round_trip(golden_weights, tmp_path):
    """Exactly what the release files are: torch.save(state_dict) of the full model."""
    state = torch.load(golden_weights, weights_only=True)
    assert infer_official_config(state) == ModelConfig()
    path = tmp_path / "XMem.pth"
    torch.save(state, path)
    model, info = load_model_with_info(path)
    assert info.checkpoint_format == "official" and info.model_card == "" and info.path == path
    assert info.name == str(path) and not info.official  # a file given by path is never claimed official
    reloaded = model.state_dict()
    assert all(torch.equal(reloaded[k], v) for k, v in state.items())


def test_dataparallel_prefix_is_accepted(golden_weights, tmp_path):
    state = torch.load(golden_weights, weights_only=True)
    path = tmp_path / "dp.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    load_model(path)


def test_no_sensory_variant_loads(tmp_path):
    """XMem-no-sensory has no hidden-state modules: C^h is read as 0."""
    model = XMem(ModelConfig(hidden_dim=0))
    path = tmp_path / "XMem-no-sensory.pth"
    torch.save(model.state_dict(), path)
    loaded = load_model(path)
    assert loaded.config.hidden_dim == 0 and loaded.decoder.hidden_update is None


def test_own_format_round_trip(tmp_path):
    model = XMem(ModelConfig(**TINY))
    path = tmp_path / "mini.pth"
    save_checkpoint(model, path, model_card="test card")
    loaded, info = load_model_with_info(path)
    assert loaded.config == model.config and info.model_card == "test card" and info.checkpoint_format == "xmem-demo"
    assert info.notice == f"Running weights from {path}." and info.label == "mini.pth (not the official XMem)"


# What a checkpoint is (name, format, card, path) travels in a WeightsInfo, never on the network.
PATCHED_ATTRIBUTES = ("weights_name", "is_official", "checkpoint_format", "model_card", "checkpoint_path")


def test_loaded_network_carries_no_patched_attributes(tmp_path):
    path = tmp_path / "mini.pth"
    save_checkpoint(XMem(ModelConfig(**TINY)), path, model_card="test card")
    for model in (load_model(path), load_model_with_info(path)[0]):
        assert type(model) is XMem
        assert [a for a in PATCHED_ATTRIBUTES if hasattr(model, a)] == []


def test_truncated_file(golden_weights, tmp_path):
    data = golden_weights.read_bytes()
    path = tmp_path / "XMem.pth"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match=r"XMem.pth.*corrupt or truncated"):
        load_model(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.pth"
    path.write_bytes(bytes(range(256)) * 100)
    with pytest.raises(CheckpointError, match="noise.pth"):
        load_model(path)


class Payload:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_pickle_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"x": Payload()}, path)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_model(path)
    assert "pickle code ran" not in capsys.readouterr().out


def test_wrong_architecture_names_keys(tmp_path):
    state = XMem(ModelConfig(**TINY)).state_dict()
    path = tmp_path / "tiny_as_official.pth"
    torch.save(state, path)  # official format, but narrow trunks: shapes differ
    with pytest.raises(CheckpointError, match="architecture does not match: .*shape mismatches"):
        load_model(path)
    state = XMem().state_dict()
    del state["decoder.pred.weight"]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"missing keys, first \['decoder.pred.weight'\].*unexpected keys"):
        load_model(path)


def test_not_an_xmem_checkpoint(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="not an XMem checkpoint"):
        load_model(path)
    torch.save(torch.zeros(3), path)
    with pytest.raises(CheckpointError, match="expected a dict of tensors"):
        load_model(path)


@pytest.mark.parametrize("kind", ["missing", "empty", "directory"])
def test_missing_empty_directory(tmp_path, kind):
    path = tmp_path / "x.pth"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    with pytest.raises(CheckpointError, match={"missing": "not found", "empty": "empty", "directory": "directory"}[kind]):
        load_model(path)
