"""Issue 13: the inference-only network, precision from the hardware, ZeroGPU wiring.

Fast: tiny random networks and fake CPU flags; the golden clip (tests/test_golden.py) checks
the inference network against the official outputs at full size.
"""

from __future__ import annotations

import importlib
import sys
import types

import numpy as np
import pytest
import torch

from xmem_demo import InferenceSession, MemoryConfig, ModelConfig, XMem
from xmem_demo.errors import InputError
from xmem_demo.hardware import choose_precision, cpu_flags, native_bf16_cpu
from xmem_demo.model.inference import InferenceOptions, fold_batchnorm, make_inference_network

SMALL = dict(key_dim=16, value_dim=32, hidden_dim=8, key_width=8, key_blocks=(1, 1, 1),
             value_width=8, value_blocks=(1, 1, 1), decoder_dims=(32, 16))


def _model(seed: int = 0) -> XMem:
    torch.manual_seed(seed)
    model = XMem(ModelConfig(**SMALL)).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so that folding is tested
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model


def _clip(n: int = 6, h: int = 48, w: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def _two_objects(h: int = 48, w: int = 64) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[5:20, 5:25] = 1
    mask[25:40, 30:60] = 2
    return mask


def test_fold_batchnorm_is_the_same_function():
    conv = torch.nn.Conv2d(4, 6, 3, padding=1, bias=False)
    bn = torch.nn.BatchNorm2d(6).eval()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(fold_batchnorm(conv, bn)(x), bn(conv(x)), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("layout", ["mixed", "channels_last"])
def test_inference_network_tracks_like_the_reference_and_leaves_the_model_alone(layout):
    model = _model()
    before = {k: (v.clone(), v.stride()) for k, v in model.state_dict().items()}
    net = make_inference_network(model, InferenceOptions(layout=layout, winograd_min_channels=8,
                                                         winograd_min_pixels=1))
    report = net.inference_report
    assert report.folded_batchnorm > 0 and report.shared_fusions == 2 and report.layout == layout
    assert (report.winograd_layers > 0) == (layout == "mixed" and torch._nnpack_available())
    after = model.state_dict()
    for k, (v, stride) in before.items():  # same values and the same layout: nothing converted in place
        assert torch.equal(after[k], v) and after[k].stride() == stride, k
    assert not any(isinstance(m, torch.nn.Identity) for m in model.modules())

    clip, mask = _clip(), _two_objects()
    ref = InferenceSession(model, MemoryConfig(mem_every=2), optimize=False)
    fast = InferenceSession(net, MemoryConfig(mem_every=2))
    assert fast.model is net  # an inference network is used as it is, not copied again
    for t, frame in enumerate(clip):
        a = ref.step(frame, mask=mask if t == 0 else None)
        b = fast.step(frame, mask=mask if t == 0 else None)
        torch.testing.assert_close(b, a, atol=2e-4, rtol=1e-4)
    assert fast.memory.working.size == ref.memory.working.size


def test_session_builds_its_own_inference_copy_by_default():
    model = _model(1)
    session = InferenceSession(model, MemoryConfig())
    assert session.model is not model and session.model.inference_report.folded_batchnorm > 0
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


def test_measured_layout_reports_its_timings():
    options = InferenceOptions(layout="measure", probe_size=(32, 48), winograd_min_channels=8, winograd_min_pixels=1)
    net = make_inference_network(_model(2), options)
    timings = net.inference_report.layout_timings_ms
    assert "channels_last" in timings and all(v > 0 for v in timings.values())
    assert net.inference_report.layout in ("mixed", "channels_last")
    assert net.inference_report.summary().startswith("inference network:")


# ---- precision from the hardware -------------------------------------------------------------
def test_bf16_only_where_the_cpu_has_it():
    plain = {"avx2", "fma"}
    off = choose_precision("cpu", flags=plain)
    assert off.precision == "fp32" and "no native bf16" in off.reason and not off.native_reduced
    for flag in ("avx512_bf16", "amx_bf16"):
        on = choose_precision("cpu", flags=plain | {flag})
        assert on.precision == "bf16" and flag in on.reason and on.native_reduced
    forced = choose_precision("cpu", "bf16", flags=plain)
    assert forced.precision == "bf16" and "emulated" in forced.reason
    assert choose_precision("cpu", "fp32", flags=plain | {"amx_bf16"}).precision == "fp32"
    with pytest.raises(ValueError, match="int8"):
        choose_precision("cpu", "int8")


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu avx2 avx512_bf16\n\n")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert native_bf16_cpu(cpu_flags(info)) == (True, "avx512_bf16")
    assert cpu_flags(tmp_path / "missing") == set()


# ---- ZeroGPU ---------------------------------------------------------------------------------
def test_gpu_task_is_the_identity_off_zerogpu(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    monkeypatch.setitem(sys.modules, "spaces", None)  # `import spaces` would fail: it must not be needed
    from xmem_demo.app import gpu

    def work(x):
        return x + 1

    assert gpu.gpu_task(30)(work) is work
    gpu.prepare()


def test_gpu_task_uses_spaces_gpu_on_zerogpu(monkeypatch):
    calls = []

    def GPU(duration=None):  # the `spaces.GPU(duration=...)` decorator form
        def deco(fn):
            def wrapped(*args, **kwargs):
                calls.append(duration(*args, **kwargs) if callable(duration) else duration)
                return fn(*args, **kwargs)
            return wrapped
        return deco

    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=GPU))
    from xmem_demo.app import gpu

    assert gpu.gpu_task(20)(lambda x: x * 2)(4) == 8 and calls == [20]
    state = types.SimpleNamespace(clip=types.SimpleNamespace(num_frames=400))
    settings = ["auto", "auto", 480, 0, 99]  # weights, device, size, first, last; memory settings by name
    run = gpu.gpu_task(gpu.track_request_duration)(lambda s, *a, **memory: "ran")
    assert run(state, *settings, "request", mem_every=5, top_k=30) == "ran"
    assert calls[-1] == gpu.tracking_duration(100) < gpu.tracking_duration(400) <= gpu.MAX_TRACKING_SECONDS


def test_missing_spaces_on_zerogpu_says_what_to_install(monkeypatch):
    monkeypatch.setenv("SPACES_ZERO_GPU", "1")
    monkeypatch.setitem(sys.modules, "spaces", None)
    from xmem_demo.app import gpu

    with pytest.raises(RuntimeError, match="requirements.txt"):
        gpu.gpu_task(10)(lambda: None)


def test_real_spaces_package_if_installed(monkeypatch):
    """With the real `spaces` package (pip install spaces) but not on ZeroGPU, its GPU decorator
    returns the function itself, and our wiring calls it with the documented signature."""
    spaces = pytest.importorskip("spaces")
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def work(x):
        return x

    assert spaces.GPU(duration=10)(work) is work
    assert spaces.GPU(duration=lambda x: 5)(work)(3) == 3


# ---- issue 22: Winograd only where NNPACK runs, checked at build -----------------------------
def test_winograd_is_counted_only_where_nnpack_passed_its_check(monkeypatch):
    if not torch._nnpack_available():
        pytest.skip("no NNPACK in this torch build")
    options = InferenceOptions(layout="auto", winograd_min_channels=8, winograd_min_pixels=1)
    works = make_inference_network(_model(3), options).inference_report
    assert works.winograd_layers > 0 and works.winograd_failed_check == 0 and works.layout == "mixed"

    def broken(*args, **kwargs):  # what issue 22 saw: every NNPACK call fails
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")

    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", broken)
    net = make_inference_network(_model(3), options)
    report = net.inference_report
    assert report.winograd_layers == 0 and report.winograd_failed_check == works.winograd_layers
    assert report.layout == "channels_last"  # nothing needs NCHW any more
    assert "0 Winograd 3x3 layers" in report.summary() and "SpatialConvolution_updateOutput failed" in report.summary()
    assert not any(type(m).__name__.startswith("Winograd") for m in net.modules())
    session = InferenceSession(net, MemoryConfig())
    session.step(_clip(1)[0], mask=_two_objects())  # runs, on oneDNN


def test_winograd_refused_at_run_time_is_reported(monkeypatch):
    if not torch._nnpack_available():
        pytest.skip("no NNPACK in this torch build")
    net = make_inference_network(_model(4), InferenceOptions(winograd_min_channels=8, winograd_min_pixels=1))
    assert net.inference_report.winograd_layers > 0

    def refuse(*args, **kwargs):
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")

    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", refuse)
    ref = InferenceSession(make_inference_network(_model(4), InferenceOptions(winograd="off")), MemoryConfig())
    session = InferenceSession(net, MemoryConfig())
    a = session.step(_clip(1)[0], mask=_two_objects())
    b = ref.step(_clip(1)[0], mask=_two_objects())
    torch.testing.assert_close(a, b, atol=2e-4, rtol=1e-4)  # fell back to oneDNN, same result
    assert net.inference_report.winograd_refused_at_run > 0
    assert "refused at run time" in net.inference_report.summary()


def test_index_mask_takes_the_first_maximal_channel_on_ties():
    session = InferenceSession(_model(5), MemoryConfig())
    session.step(_clip(1)[0], mask=_two_objects())  # objects 1 and 2
    gen = torch.Generator().manual_seed(0)
    prob = torch.randint(0, 3, (3, 48, 64), generator=gen).float()  # many exact ties
    got = session.to_index_mask(prob)
    want = np.array([0, 1, 2])[prob.argmax(0).numpy()]  # argmax: the first maximal index
    assert got.dtype == np.uint8 and np.array_equal(got, want)
    session.object_ids[1] = 300  # labels above 255: uint16
    assert session.to_index_mask(prob).dtype == np.uint16
    assert np.array_equal(session.to_index_mask(prob), np.array([0, 1, 300])[prob.argmax(0).numpy()])


# ---- issue 22: bf16 weights cast once at load, not by autocast on every frame ---------------
def test_bf16_network_casts_its_weights_once_and_tracks_like_autocast():
    model = _model(6)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    net = make_inference_network(model, InferenceOptions(weights_dtype="bf16"))
    report = net.inference_report
    assert report.weights_dtype == "bf16" and report.winograd_layers == 0 and "bf16 (cast once at load)" in report.summary()
    assert all(p.dtype == torch.bfloat16 for part in (net.decoder, net.value_encoder) for p in part.parameters())
    assert all(p.dtype == torch.float32 for part in (net.key_encoder, net.key_proj) for p in part.parameters())
    assert all(torch.equal(v, before[k]) and v.dtype == before[k].dtype for k, v in model.state_dict().items())

    autocast = make_inference_network(model, InferenceOptions(layout=report.layout))  # float32 weights
    clip, mask = _clip(), _two_objects()
    once = InferenceSession(net, MemoryConfig(mem_every=2), precision="bf16")
    every = InferenceSession(autocast, MemoryConfig(mem_every=2), precision="bf16")
    for t, frame in enumerate(clip):
        a = once.step(frame, mask=mask if t == 0 else None)
        b = every.step(frame, mask=mask if t == 0 else None)
        torch.testing.assert_close(a, b, atol=0, rtol=0)  # autocast casts to the same bf16 values
    with pytest.raises(InputError, match="bf16 weights"):
        InferenceSession(net, MemoryConfig(), precision="fp32")


def test_sessions_share_one_bf16_copy_per_model():
    model = _model(7)
    a = InferenceSession(model, MemoryConfig(), precision="bf16").model
    b = InferenceSession(model, MemoryConfig(), precision="bf16").model
    c = InferenceSession(model, MemoryConfig()).model
    assert a is b and a is not c
    assert a.inference_report.weights_dtype == "bf16" and c.inference_report.weights_dtype == "fp32"
