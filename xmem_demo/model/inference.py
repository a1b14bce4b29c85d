"""An inference-only copy of the XMem network, made once at load time.

Training needs the network as written (BatchNorm layers, one convolution per concatenated
input); inference can run the same function with less work. `make_inference_network`
returns a new network, computing the same outputs up to float32 rounding, and never
changes the caller's model (the copy shares every tensor it does not rewrite):

1. **BatchNorm folded into the convolution before it.** In eval mode BatchNorm is a fixed
   affine map per channel, y = gamma (x - mu) / sqrt(var + eps) + beta, so conv -> BN is one
   convolution with W' = W * gamma / sqrt(var + eps) and b' = beta - mu * gamma / sqrt(var + eps).
   The BN layer becomes an identity (one pass over the activations less per layer).
2. **The image half of the fusion convolutions computed once.** The decoder's and value
   encoder's fusion block convolves [x, g_i] (image features x, the same for every object i,
   concatenated with object features g_i). A convolution is linear in its input channels,
   so conv([x, g_i]) = conv_x(x) + conv_g(g_i): the x part (1,024 of the 1,600 input channels
   of the official decoder) is computed once per frame instead of once per object.
3. **Winograd convolution for large 3x3 layers.** A 3x3, stride-1 convolution can be computed
   on 6x6 output tiles with Winograd's minimal filtering F(6x6, 3x3): 64 multiplications per
   tile and channel pair instead of 36 x 9 = 324, plus cheap input/output transforms.
   PyTorch's CPU build ships NNPACK, which implements it (`torch._nnpack_spatial_convolution`,
   used only when `torch._nnpack_available()`); oneDNN, PyTorch's default CPU convolution,
   computes these layers directly. This is where most of a 480p frame goes (the decoder's
   256- and 512-channel 3x3 convolutions at strides 4 and 8; see benchmarks/compute_bound.py).
   Results differ from direct convolution by float32 rounding (about 1e-5 relative). Layers
   with fewer than `winograd_min_channels` channels stay on oneDNN (there the transforms cost
   more than they save), and so does any shape NNPACK refuses (it is tried, then remembered).
   NNPACK is checked on each eligible layer when the network is built (one small input,
   compared with the direct convolution): a layer that fails stays on oneDNN and is not
   counted, and shapes refused later are counted too, so the report says only what runs
   (issue 22: a CPU where every NNPACK call failed was reported as running 33 such layers).
4. **Memory layout.** oneDNN's direct convolutions are faster channels-last (NHWC); NNPACK
   needs contiguous NCHW. "mixed" keeps the query encoder channels-last (oneDNN) and the
   Winograd parts (decoder, value encoder) NCHW; "auto" picks "mixed" when Winograd layers
   are in use, otherwise channels-last on CPU (NCHW on GPUs); "measure" times the
   candidates on a probe frame and keeps the fastest. The query encoder stays on oneDNN in
   every mode: its keys decide the top-k memory reads, and the golden check (memory usage
   counters at consolidation) is closest to the official run with it unchanged.

Convolution + bias + ReLU fusion: the bias is added inside every backend's convolution;
eager PyTorch has no fused conv+ReLU kernel on CPU (oneDNN post-ops are reachable only
through torch.jit / torch.compile), so the ReLUs stay separate passes (in place where the
network already used them in place). There is no torch.compile path: it was not measured
faster here (not measured at all yet: compiling the full network on the shared 2-core
machine did not fit the session; see the issue-13 note).

Threads: `torch.set_num_threads(n)` sets the intra-op threads of every backend used here
(OpenMP for oneDNN and ATen, the shared pthreadpool for NNPACK); a frame is one chain of
large operators, so inter-op threads do not help. How many, and how idle OpenMP threads
wait, is xmem_demo/threads.py's policy (the CLI, the app and the first session apply it);
the side-by-side benchmarks give each configuration 1 thread so that their processes do not
compete.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import CBAM, FeatureFusionBlock, GroupConv2d, GroupResBlock, broadcast_cat, per_object

Layout = Literal["auto", "measure", "channels_last", "contiguous", "mixed"]


@dataclass(frozen=True)
class InferenceOptions:
    """How to build the inference network (the defaults are what sessions use)."""

    fold_batchnorm: bool = True
    share_image_features: bool = True  # item 2 above
    winograd: Literal["auto", "off"] = "auto"  # NNPACK Winograd for large 3x3 layers (CPU, fp32)
    winograd_min_channels: int = 128  # min(C_in, C_out) of a 3x3 layer to use Winograd
    # ... and H x W of its input: NNPACK transforms the whole kernel on every call (64/9 x its
    # size), which only pays on large maps (measured crossover ~1,000 pixels; 480p at
    # stride 16 is 30 x 54 = 1,620).
    winograd_min_pixels: int = 1500
    # Parts of the network whose 3x3 layers may use Winograd. Not the query (key) encoder by
    # default: its output decides which memory elements every pixel reads (top-k), and the
    # golden check showed its rounding reaching the usage counters; the decoder and the value
    # encoder (most of the arithmetic) only change probabilities and values by ~1e-5.
    winograd_parts: tuple[str, ...] = ("decoder", "value_encoder")
    layout: Layout = "auto"
    probe_size: tuple[int, int] = (192, 320)  # frame size used by layout="measure"
    # Item 5: the reduced-precision weights, made once. With "bf16"/"fp16" the decoder and the
    # value encoder (the parts a session runs under autocast) get copies of their weights in
    # that dtype, channels-last on CPU, so autocast finds them already cast instead of
    # converting every weight on every frame; the query encoder (whose keys choose the memory
    # reads) keeps float32. Autocast casts float32 weights to the same values, so the outputs
    # are identical; such a network must run under that autocast (InferenceSession does).
    weights_dtype: Literal["fp32", "bf16", "fp16"] = "fp32"


@dataclass
class InferenceReport:
    """What `make_inference_network` did (the copy's `XMem.inference_report`)."""

    folded_batchnorm: int = 0
    shared_fusions: int = 0
    winograd_layers: int = 0
    layout: str = "contiguous"
    layout_timings_ms: dict[str, float] = field(default_factory=dict)
    threads: int = 1
    weights_dtype: str = "fp32"  # of the decoder and value encoder (InferenceOptions.weights_dtype)
    winograd_failed_check: int = 0  # eligible layers whose NNPACK check at build failed (left on oneDNN)
    winograd_problem: str = ""  # the last check's failure
    winograd_refused_at_run: int = 0  # (layer, input shape) pairs NNPACK refused later (run on oneDNN)

    def winograd_summary(self) -> str:
        """What runs as Winograd: only layers whose NNPACK check passed at build, less refusals at run."""
        text = f"{self.winograd_layers} Winograd 3x3 layers (NNPACK, checked at build)"
        if self.winograd_failed_check:
            text += f", {self.winograd_failed_check} left on oneDNN ({self.winograd_problem})"
        if self.winograd_refused_at_run:
            text += f", {self.winograd_refused_at_run} layer shapes refused at run time (run on oneDNN)"
        return text

    def summary(self) -> str:
        timing = ""
        if self.layout_timings_ms:
            timing = " (measured: " + ", ".join(f"{k} {v:.0f} ms" for k, v in self.layout_timings_ms.items()) + ")"
        reduced = ""
        if self.weights_dtype != "fp32":
            reduced = f", decoder and value encoder weights {self.weights_dtype} (cast once at load)"
        return (f"inference network: {self.folded_batchnorm} BatchNorm folded, {self.shared_fusions} fusion blocks "
                f"share image features, {self.winograd_summary()}, layout {self.layout}{timing}{reduced}, "
                f"{self.threads} thread(s)")


# ---- 1. BatchNorm folding -------------------------------------------------------------------
def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new Conv2d equal to bn(conv(x)) with bn in eval mode (running statistics)."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    folded = copy.copy(conv)  # same class and hyper-parameters; new parameter dict below
    folded._parameters = dict(conv._parameters)
    folded.weight = nn.Parameter(conv.weight.detach() * scale.view(-1, 1, 1, 1), requires_grad=False)
    folded.bias = nn.Parameter(bn.bias.detach() + (bias - bn.running_mean) * scale, requires_grad=False)
    return folded


def _fold_all(module: nn.Module, report: InferenceReport) -> None:
    """Fold every (convN, bnN) attribute pair and every Sequential(conv, BN) in the tree."""
    for child in list(module.children()):
        _fold_all(child, report)
    if isinstance(module, nn.Sequential):
        items = list(module._modules.items())
        for (name, conv), (bn_name, bn) in zip(items, items[1:]):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                module._modules[name] = fold_batchnorm(conv, bn)
                module._modules[bn_name] = nn.Identity()
                report.folded_batchnorm += 1
        return
    for suffix in ("1", "2", "3"):
        conv, bn = getattr(module, "conv" + suffix, None), getattr(module, "bn" + suffix, None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            setattr(module, "conv" + suffix, fold_batchnorm(conv, bn))
            setattr(module, "bn" + suffix, nn.Identity())
            report.folded_batchnorm += 1


# ---- 2. image features shared by all objects ------------------------------------------------
def _split_conv(conv: nn.Conv2d, x_dim: int) -> tuple[nn.Conv2d, GroupConv2d]:
    """conv over [x, g] -> (conv_x with the bias, per-object conv_g without)."""
    kw = dict(kernel_size=conv.kernel_size, stride=conv.stride, padding=conv.padding)
    conv_x = nn.Conv2d(x_dim, conv.out_channels, bias=conv.bias is not None, **kw)
    conv_g = GroupConv2d(conv.in_channels - x_dim, conv.out_channels, bias=False, **kw)
    w = conv.weight.detach()
    conv_x.weight = nn.Parameter(w[:, :x_dim].contiguous(), requires_grad=False)
    conv_g.weight = nn.Parameter(w[:, x_dim:].contiguous(), requires_grad=False)
    if conv.bias is not None:
        conv_x.bias = nn.Parameter(conv.bias.detach(), requires_grad=False)
    return conv_x.to(w.device), conv_g.to(w.device)


class SharedImageResBlock(nn.Module):
    """GroupResBlock over [x, g_i] with the x part of both convolutions computed once.

    out_i = conv2(relu(conv1_x(relu(x)) + conv1_g(relu(g_i)))) + downsample_x(x) + downsample_g(g_i)
    """

    def __init__(self, block: GroupResBlock, x_dim: int) -> None:
        super().__init__()
        if block.downsample is None:
            raise ValueError("the fusion block's first residual block changes width, so it has a downsample")
        self.conv1_x, self.conv1_g = _split_conv(block.conv1, x_dim)
        self.downsample_x, self.downsample_g = _split_conv(block.downsample, x_dim)
        self.conv2 = block.conv2
        self.whole = block  # one object: nothing to share, the original block does it in fewer calls

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        if g.shape[1] == 1:
            return self.whole(broadcast_cat(x, g))
        hidden = self.conv1_g(F.relu(g)).add_(self.conv1_x(F.relu(x)).unsqueeze(1))
        shortcut = self.downsample_g(g).add_(self.downsample_x(x).unsqueeze(1))
        return self.conv2(F.relu_(hidden)).add_(shortcut)


class SharedImageFusionBlock(nn.Module):
    """FeatureFusionBlock with its first block as a SharedImageResBlock (same function)."""

    def __init__(self, fusion: FeatureFusionBlock, x_dim: int) -> None:
        super().__init__()
        self.block1 = SharedImageResBlock(fusion.block1, x_dim)
        self.attention: CBAM = fusion.attention
        self.block2 = fusion.block2

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        g = self.block1(x, g)
        g = g + per_object(self.attention, g)
        return self.block2(g)


def _share_image_features(net: nn.Module, report: InferenceReport) -> None:
    cfg = net.config
    for owner in (net.decoder, net.value_encoder):
        if isinstance(owner.fuser, FeatureFusionBlock):
            owner.fuser = SharedImageFusionBlock(owner.fuser, cfg.f16_dim)
            report.shared_fusions += 1


# ---- 3. Winograd 3x3 convolutions -----------------------------------------------------------
class WinogradConvMixin:
    """Runs a 3x3 stride-1 convolution with NNPACK's Winograd F(6x6, 3x3) on CPU in float32.

    Anything else (autocast, other dtypes or devices, a shape NNPACK refuses) takes the
    ordinary path. NNPACK is called one image at a time (its batched entry point is the
    training algorithm, which refuses some of these shapes).
    """

    refused: set  # input shapes NNPACK failed on (then oneDNN is used for them)
    min_pixels: int = 1500
    report: "InferenceReport | None" = None  # counts the shapes refused at run time

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        shape = tuple(x.shape[1:])
        if (x.device.type != "cpu" or x.dtype != torch.float32 or weight.dtype != torch.float32
                or torch.is_autocast_enabled("cpu") or shape in self.refused
                or x.shape[-2] * x.shape[-1] < self.min_pixels):
            return super()._conv_forward(x, weight, bias)  # type: ignore[misc]
        x = x.contiguous()
        try:
            outs = [torch._nnpack_spatial_convolution(x[i : i + 1], weight, bias, self.padding) for i in range(x.shape[0])]
        except RuntimeError:
            self.refused.add(shape)
            if self.report is not None:
                self.report.winograd_refused_at_run += 1
            return super()._conv_forward(x, weight, bias)  # type: ignore[misc]
        return outs[0] if len(outs) == 1 else torch.cat(outs)


class WinogradConv2d(WinogradConvMixin, nn.Conv2d):
    pass


class WinogradGroupConv2d(WinogradConvMixin, GroupConv2d):
    pass


def winograd_available() -> bool:
    return bool(getattr(torch, "_nnpack_available", lambda: False)())


def _winograd_eligible(conv: nn.Module, min_channels: int) -> bool:
    return (type(conv) in (nn.Conv2d, GroupConv2d) and conv.kernel_size == (3, 3) and conv.stride == (1, 1)
            and conv.dilation == (1, 1) and conv.groups == 1 and conv.padding == (1, 1)
            and min(conv.in_channels, conv.out_channels) >= min_channels)


def _check_nnpack(conv: nn.Conv2d, checked: dict) -> str | None:
    """Run NNPACK once on this layer's weights (a small input) and compare with the direct
    convolution. None if it works, else why not. Cached by weight shape: a build or CPU that
    fails NNPACK fails it for every layer, and the check is not free (the kernel transform)."""
    key = tuple(conv.weight.shape)
    if key in checked:
        return checked[key]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((1, conv.in_channels, 8, 8), generator=gen)
    weight = conv.weight.detach().float().contiguous()
    bias = None if conv.bias is None else conv.bias.detach().float()
    try:
        with torch.inference_mode():
            got = torch._nnpack_spatial_convolution(x, weight, bias, conv.padding)
            want = F.conv2d(x, weight, bias, padding=conv.padding)
    except RuntimeError as err:
        checked[key] = f"NNPACK failed: {str(err).splitlines()[0]}"
        return checked[key]
    # Winograd F(6x6, 3x3) differs from direct convolution by float32 rounding (~1e-5 relative)
    error = (got - want).abs().max().item() / max(want.abs().max().item(), 1e-12)
    checked[key] = None if error < 1e-3 else f"NNPACK result differs from direct convolution ({error:.1e} relative)"
    return checked[key]


def _use_winograd(net: nn.Module, options: InferenceOptions, report: InferenceReport) -> None:
    """Winograd (NNPACK) for the eligible layers on which NNPACK ran correctly just now; the
    report counts only those (issue 22: a CPU where every NNPACK call failed was reported as
    running 33 Winograd layers)."""
    parts = [getattr(net, name) for name in options.winograd_parts]
    checked: dict = {}
    for module in (m for part in parts for m in part.modules()):
        if _winograd_eligible(module, options.winograd_min_channels):
            problem = _check_nnpack(module, checked)
            if problem is not None:
                report.winograd_failed_check += 1
                report.winograd_problem = problem
                continue
            module.__class__ = WinogradGroupConv2d if isinstance(module, GroupConv2d) else WinogradConv2d
            module.refused = set()
            module.min_pixels = options.winograd_min_pixels
            module.report = report
            report.winograd_layers += 1


def _without_winograd(net: nn.Module) -> None:
    for module in net.modules():
        if isinstance(module, WinogradConvMixin):
            module.__class__ = GroupConv2d if isinstance(module, GroupConv2d) else nn.Conv2d
            del module.refused, module.min_pixels, module.report


# ---- 4. layout ------------------------------------------------------------------------------
def _set_layout(net: nn.Module, channels_last: bool) -> None:
    """New 4-D weight tensors in the given layout (never converts a shared tensor in place)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for module in net.modules():
        for name, p in list(module._parameters.items()):
            if p is not None and p.ndim == 4 and not p.is_contiguous(memory_format=fmt):
                module._parameters[name] = nn.Parameter(p.detach().contiguous(memory_format=fmt), requires_grad=False)


def _apply_layout(net: nn.Module, layout: str, options: InferenceOptions) -> None:
    _set_layout(net, layout != "contiguous")
    if layout == "mixed":
        for name in options.winograd_parts:
            _set_layout(getattr(net, name), False)


def _time_frame(net: nn.Module, size: tuple[int, int], repeats: int = 2) -> float:
    """Seconds for the per-frame work on a probe: query encoding, decoding one object."""
    device = next(net.parameters()).device
    gen = torch.Generator().manual_seed(0)
    image = torch.randn((1, 3, *size), generator=gen).to(device)
    cfg = net.config
    hw = (size[0] // 16, size[1] // 16)
    readout = torch.randn((1, 1, cfg.value_dim, *hw), generator=gen).to(device)
    hidden = torch.zeros((1, 1, cfg.hidden_dim, *hw), device=device) if cfg.hidden_dim else None
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats + 1):  # the first run warms up (allocations, weight packing)
            start = time.perf_counter()
            _, _, _, features = net.encode_key(image)
            net.segment(features, readout, hidden)
            best = min(best, time.perf_counter() - start)
    return best


# ---- the entry point ------------------------------------------------------------------------
def make_inference_network(model: nn.Module, options: InferenceOptions = InferenceOptions()) -> nn.Module:
    """A new network for inference only; `model` is left exactly as it was.

    Call it once per loaded model and share the result between sessions (it is read-only).
    """
    if getattr(model, "inference_report", None) is not None:
        return model  # already an inference network
    shared = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    net = copy.deepcopy(model, memo=shared).eval()  # new modules, the same tensors
    report = InferenceReport(threads=torch.get_num_threads())
    if options.fold_batchnorm:
        _fold_all(net, report)
    if options.share_image_features:
        _share_image_features(net, report)
    device = next(net.parameters()).device
    reduced = options.weights_dtype != "fp32"
    if options.weights_dtype not in ("fp32", "bf16", "fp16"):
        raise ValueError(f"weights_dtype must be fp32, bf16 or fp16, got {options.weights_dtype!r}")
    if options.winograd == "auto" and device.type == "cpu" and winograd_available() and not reduced:
        _use_winograd(net, options, report)  # NNPACK computes float32 only

    layout = options.layout
    if reduced and layout == "measure":
        layout = "auto"  # the probe runs without autocast, which a reduced-precision network needs
    if layout == "measure" and device.type == "cpu":
        layout = _measure_layout(net, options, report)
    elif layout in ("auto", "measure"):
        layout = "contiguous" if device.type != "cpu" else "mixed" if report.winograd_layers else "channels_last"
    if layout == "channels_last" and report.winograd_layers:
        _without_winograd(net)  # NNPACK needs NCHW; the layout decision wins
        report.winograd_layers = 0
    _apply_layout(net, layout, options)
    report.layout = layout
    if reduced:
        dtype = torch.bfloat16 if options.weights_dtype == "bf16" else torch.float16
        for name in ("decoder", "value_encoder"):
            _set_dtype(getattr(net, name), dtype)
        report.weights_dtype = options.weights_dtype
    net.inference_report = report
    return net


def _set_dtype(part: nn.Module, dtype: torch.dtype) -> None:
    """New floating-point parameters and buffers in `dtype`, layout kept (never `part.to(dtype)`:
    that would convert tensors shared with the caller's model in place)."""
    for module in part.modules():
        for store in (module._parameters, module._buffers):
            for name, t in list(store.items()):
                if t is None or not t.is_floating_point():
                    continue
                fmt = torch.channels_last if t.ndim == 4 and t.is_contiguous(memory_format=torch.channels_last) \
                    and not t.is_contiguous() else torch.contiguous_format
                new = t.detach().to(dtype).contiguous(memory_format=fmt)
                store[name] = nn.Parameter(new, requires_grad=False) if isinstance(t, nn.Parameter) else new


def _measure_layout(net: nn.Module, options: InferenceOptions, report: InferenceReport) -> str:
    """Time "mixed" (Winograd parts NCHW) against all channels-last; return the faster."""
    timings = {}
    winograd = report.winograd_layers > 0
    if winograd:
        _apply_layout(net, "mixed", options)
        timings["mixed+winograd"] = _time_frame(net, options.probe_size)
        _without_winograd(net)
    _apply_layout(net, "channels_last", options)
    timings["channels_last"] = _time_frame(net, options.probe_size)
    report.layout_timings_ms = {k: 1000 * v for k, v in timings.items()}
    if min(timings, key=timings.get) == "channels_last":
        report.winograd_layers = 0
        return "channels_last"
    report.winograd_layers = report.winograd_failed_check = 0
    _use_winograd(net, options, report)
    return "mixed"


__all__ = [
    "InferenceOptions",
    "InferenceReport",
    "make_inference_network",
    "fold_batchnorm",
    "winograd_available",
    "SharedImageFusionBlock",
]
