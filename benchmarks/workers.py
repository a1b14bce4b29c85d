"""One benchmark configuration per process, driven frame by frame by the parent.

Each configuration runs in its own process so that its RSS is its own; the parent sends
the same frame to every process in turn and waits for each answer before sending the next
one (lock-step: at most one configuration computes at any moment), so the configurations
are timed side by side under the same background load.

Kinds:
* `ours`     - xmem_demo.InferenceSession (full XMem, or long-term memory disabled).
* `bound`    - no tracking: re-measures the machine's matmul / convolution throughput each frame.
* `official` - the official XMem InferenceCore from a local checkout (hkchengrex/XMem),
  imported from that checkout: `model.network` and `inference.inference_core` only (they do
  not import torchvision; if some import ever asks for it, a minimal stub is installed in
  the worker and reported). The official encoders would download ImageNet ResNet weights
  that the checkpoint then overwrites; the worker builds them without (pretrained=False).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class WorkerSpec:
    name: str  # configuration name shown in the outputs: full, no-lt, official, full-bf16
    kind: str  # "ours" or "official"
    weights: str  # checkpoint path, or "tiny:SEED" (random tiny network, ours only)
    memory: dict[str, Any]  # MemoryConfig fields
    num_frames: int
    precision: str = "fp32"
    threads: int | None = None
    device: str = "cpu"
    official_path: str | None = None
    max_working_elements: int | None = None  # stop this configuration beyond this size
    max_rss_mb: float | None = None  # ... or beyond this RSS
    working_size: int | None = None  # short side inside the network (official: eval.py --size); None: as given
    extra: dict[str, Any] = field(default_factory=dict)


# ---- process memory ----------------------------------------------------------------------
def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB (Linux /proc; elsewhere peak only)."""
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        from xmem_demo.portable import peak_rss_mib

        peak = peak_rss_mib()
        return float("nan"), float("nan") if peak is None else peak


def _tensor_bytes(*tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if t is not None)


# ---- ours ----------------------------------------------------------------------------------
class OursRunner:
    def __init__(self, spec: WorkerSpec) -> None:
        import torch

        from xmem_demo import InferenceSession, MemoryConfig, ModelConfig, XMem, load_model

        self.torch = torch
        if spec.weights.startswith("tiny:"):
            torch.manual_seed(int(spec.weights.split(":", 1)[1]))
            tiny = dict(key_dim=16, value_dim=16, hidden_dim=8, key_width=8, key_blocks=(1, 1, 1),
                        value_width=8, value_blocks=(1, 1, 1), decoder_dims=(16, 16))
            model = XMem(ModelConfig(**tiny)).eval().to(spec.device)
        else:
            model = load_model(spec.weights, device=spec.device)
        self.device = torch.device(spec.device)
        self.session = InferenceSession(
            model, MemoryConfig(**spec.memory), num_frames=spec.num_frames, precision=spec.precision,
            working_size=spec.working_size,
        )
        self.info = {
            "model": model.config.to_dict(),
            "count_long_term_usage": self.session.memory.long_term.count_usage
            if self.session.memory.long_term is not None else False,
        }

    def step_prob(self, frame: np.ndarray, mask: np.ndarray | None, end: bool):
        """(K + 1) x H x W probabilities at the frame's size; channel k = k-th label seen."""
        return self.session.step(frame, mask=mask, end=end)

    def step(self, frame: np.ndarray, mask: np.ndarray | None, end: bool) -> tuple[np.ndarray, bool]:
        prob = self.step_prob(frame, mask, end)
        return self.session.to_index_mask(prob), not bool(self.torch.isfinite(prob).all())

    def sizes(self) -> dict[str, float]:
        mem = self.session.memory
        lt = mem.long_term
        return {
            "working_elements": mem.working.size,
            "long_term_elements": lt.size if lt is not None else 0,
            "tier_mb": sum(mem.memory_bytes().values()) / 2**20,
        }


# ---- official -----------------------------------------------------------------------------
def _import_official(path: str) -> tuple[Any, Any, bool]:
    """Import the official network and InferenceCore from a checkout; stub torchvision if asked for."""
    if not os.path.isfile(os.path.join(path, "inference", "inference_core.py")):
        raise FileNotFoundError(f"{path} is not a checkout of hkchengrex/XMem (no inference/inference_core.py)")
    sys.path.insert(0, os.path.abspath(path))
    stubbed = False
    try:
        import torchvision  # noqa: F401
    except ImportError:
        import types

        # The two modules used here do not import torchvision; this stub only guards against
        # a future import in their dependency chain and is reported in the outputs if used.
        stub = types.ModuleType("torchvision")
        stub.__path__ = []  # type: ignore[attr-defined]
        sys.modules["torchvision"] = stub
        stubbed = True
    from inference.inference_core import InferenceCore  # type: ignore
    from model import resnet  # type: ignore
    from model.network import XMem as OfficialXMem  # type: ignore

    # The official encoders always ask for ImageNet-pretrained ResNets (a download); every one
    # of those values is then overwritten by the checkpoint (load_state_dict, strict), so
    # build them with their random initialisation instead: no network access, same network.
    make18, make50 = resnet.resnet18, resnet.resnet50
    resnet.resnet18 = lambda pretrained=True, extra_dim=0: make18(pretrained=False, extra_dim=extra_dim)
    resnet.resnet50 = lambda pretrained=True, extra_dim=0: make50(pretrained=False, extra_dim=extra_dim)
    return OfficialXMem, InferenceCore, stubbed


class OfficialRunner:
    def __init__(self, spec: WorkerSpec) -> None:
        import torch

        if spec.official_path is None:
            raise ValueError("the official configuration needs the path of an official checkout")
        if spec.precision != "fp32":
            raise ValueError("the official configuration runs in fp32 only")
        OfficialXMem, InferenceCore, stubbed = _import_official(spec.official_path)
        self.torch = torch
        m = spec.memory
        # The official eval.py defaults, overridden by the same MemoryConfig fields as ours.
        config = {
            "mem_every": m.get("mem_every", 5),
            "deep_update_every": m.get("deep_update_every", -1),
            "enable_long_term": m.get("enable_long_term", True),
            "min_mid_term_frames": m.get("min_mid_term_frames", 5),
            "max_mid_term_frames": m.get("max_mid_term_frames", 10),
            "num_prototypes": m.get("num_prototypes", 128),
            "max_long_term_elements": m.get("max_long_term_elements", 10000),
            "top_k": m.get("top_k", 30),
        }
        # eval.py's rule for counting long-term usage.
        config["enable_long_term_count_usage"] = config["enable_long_term"] and (
            spec.num_frames / (config["max_mid_term_frames"] - config["min_mid_term_frames"]) * config["num_prototypes"]
            >= config["max_long_term_elements"]
        )
        self.device = torch.device(spec.device)
        network = OfficialXMem(config, spec.weights, map_location=spec.device).eval().to(self.device)
        self.processor = InferenceCore(network, config)
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(3, 1, 1)
        self.labels: list[int] = []
        self.size = spec.working_size
        self.info = {"config": config, "torchvision_stubbed": stubbed}

    def step_prob(self, frame: np.ndarray, mask: np.ndarray | None, end: bool):
        """What the official eval.py does for one frame, with --size self.size (None: -1)."""
        torch = self.torch
        F = torch.nn.functional
        with torch.no_grad():  # as the official eval.py
            rgb = torch.from_numpy(frame).to(self.device).permute(2, 0, 1).float() / 255
            rgb = (rgb - self.mean) / self.std  # = torchvision ToTensor + Normalize
            h, w = rgb.shape[-2:]
            if self.size is not None:  # VideoReader: transforms.Resize(size, BILINEAR) after Normalize
                short, long = min(h, w), max(h, w)
                new_long = int(self.size * long / short)
                shape = (self.size, new_long) if h <= w else (new_long, self.size)
                rgb = F.interpolate(rgb[None], shape, mode="bilinear", align_corners=False, antialias=True)[0]
            msk, valid = None, None
            if mask is not None:
                # What the official MaskMapper does (non-exhaustive): one channel per label seen so far.
                new = [int(v) for v in np.unique(mask) if v != 0 and int(v) not in self.labels]
                self.labels += new
                m = torch.from_numpy(mask.astype(np.int64)).to(self.device)
                msk = torch.stack([(m == lab) for lab in self.labels]).float()
                if self.size is not None:  # VideoReader.resize_mask
                    min_hw = min(h, w)
                    size = (int(h / min_hw * self.size), int(w / min_hw * self.size))
                    msk = F.interpolate(msk[None], size, mode="nearest")[0]
                valid = list(range(len(self.labels) - len(new) + 1, len(self.labels) + 1))
                self.processor.set_all_labels(list(range(1, len(self.labels) + 1)))
            prob = self.processor.step(rgb, msk, valid, end=end)
            if self.size is not None:  # eval.py: upsample to the original size
                prob = F.interpolate(prob.unsqueeze(1), (h, w), mode="bilinear", align_corners=False)[:, 0]
        return prob

    def step(self, frame: np.ndarray, mask: np.ndarray | None, end: bool) -> tuple[np.ndarray, bool]:
        torch = self.torch
        prob = self.step_prob(frame, mask, end)
        idx = torch.argmax(prob, dim=0).cpu().numpy()
        nonfinite = not bool(torch.isfinite(prob).all())
        lut = np.array([0, *self.labels])
        return lut[idx].astype(np.uint8 if lut.max() < 256 else np.uint16), nonfinite

    def sizes(self) -> dict[str, float]:
        mem = self.processor.memory
        wm = mem.work_mem
        lt = mem.long_mem if mem.enable_long_term else None
        tier = 0
        for store in (wm, lt):
            if store is None or store.size == 0:
                continue
            tier += _tensor_bytes(store.k, store.s, store.e, getattr(store, "use_count", None),
                                  getattr(store, "life_count", None), *store.v)
        if mem.hidden is not None:
            tier += _tensor_bytes(mem.hidden)
        return {
            "working_elements": wm.size,
            "long_term_elements": lt.size if lt is not None else 0,
            "tier_mb": tier / 2**20,
        }


# ---- the machine's own limit, measured between frames ---------------------------------------
class BoundRunner:
    """Not a tracker: on every frame it re-measures this machine's fp32 matmul and 3x3
    convolution throughput (benchmarks/compute_bound.py, one short run of each), so that the
    compute bound of each frame is computed with rates taken under the same load."""

    def __init__(self, spec: WorkerSpec) -> None:
        from benchmarks.compute_bound import measure_rates

        self.measure = lambda: measure_rates(repeats=1, mm_size=1024, conv_hw=(30, 54))
        self.rates = self.measure()
        self.info = {"rates_at_start": self.rates.__dict__}

    def step(self, frame: np.ndarray, mask: np.ndarray | None, end: bool) -> tuple[None, bool]:
        self.rates = self.measure()
        return None, False

    def sizes(self) -> dict[str, float]:
        return {"matmul_gflops": self.rates.matmul_gflops, "conv_gflops": self.rates.conv3x3_gflops,
                "working_elements": 0, "long_term_elements": 0, "tier_mb": 0.0}


# ---- the process loop --------------------------------------------------------------------
def worker_main(spec: WorkerSpec, conn) -> None:
    """Process entry point: build the runner, then answer ('step', ...) messages until 'close'."""
    try:
        import torch

        if spec.threads:
            torch.set_num_threads(spec.threads)
        kinds = {"ours": OursRunner, "official": OfficialRunner, "bound": BoundRunner}
        runner = kinds[spec.kind](spec)
        cuda = spec.device.startswith("cuda")
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        info = dict(runner.info, threads=torch.get_num_threads(), torch=torch.__version__, pid=os.getpid())
        info["rss_after_setup_mb"] = rss_mb()[0]
        conn.send(("ready", info))
    except Exception:  # noqa: BLE001 - reported to the parent
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        msg = conn.recv()
        if msg[0] == "close":
            conn.send(("closed", None))
            return
        _, t, frame, mask, end = msg
        try:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            index_mask = runner.step(frame, mask, end)
            if cuda:
                torch.cuda.synchronize()
            seconds, cpu_seconds = time.perf_counter() - wall0, time.process_time() - cpu0
            index_mask, nonfinite = index_mask
            rss, peak = rss_mb()
            row = {"seconds": seconds, "cpu_seconds": cpu_seconds, "rss_mb": rss, "peak_rss_mb": peak,
                   "nonfinite": int(nonfinite)}
            if cuda:
                row["gpu_mb"] = torch.cuda.memory_allocated() / 2**20
                row["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
            row.update(runner.sizes())
            stop = None
            if spec.max_working_elements is not None and row["working_elements"] > spec.max_working_elements:
                stop = f"working memory above {spec.max_working_elements} elements"
            if spec.max_rss_mb is not None and rss > spec.max_rss_mb:
                stop = f"RSS above {spec.max_rss_mb:.0f} MiB"
            conn.send(("ok", row, index_mask, stop))
        except Exception:  # noqa: BLE001
            conn.send(("error", traceback.format_exc()))
            return
