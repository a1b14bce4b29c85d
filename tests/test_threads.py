"""Issue 22: the thread policy (xmem_demo/threads.py): threads from the usable cores and the
jobs that share them, OpenMP waiting set before torch loads. Fast; the speed under a competing
process is measured by benchmarks/thread_policy.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xmem_demo import threads
from xmem_demo.threads import choose_threads, usable_cores

REPO = Path(__file__).resolve().parents[1]


def test_threads_share_the_usable_cores_between_jobs():
    env = {"OMP_WAIT_POLICY": "PASSIVE"}
    assert choose_threads("single", cores=8, environ=env).threads == 8
    assert choose_threads("app", jobs=2, cores=8, environ=env).threads == 4
    assert choose_threads("app", jobs=3, cores=2, environ=env).threads == 1  # never 0
    live = choose_threads("live", cores=4, environ=env)
    assert live.threads == 4 and live.wait_policy == "PASSIVE" and "4 core(s)" in live.describe()


def test_the_users_setting_wins():
    p = choose_threads("app", jobs=2, cores=8, environ={"OMP_NUM_THREADS": "3", "OMP_WAIT_POLICY": "active"})
    assert (p.threads, p.wait_policy) == (3, "ACTIVE") and "OMP_NUM_THREADS=3" in p.reason


def test_spinning_openmp_on_a_busy_machine_gets_one_thread():
    # waiting not set before torch loaded (OpenMP spins): with other load, one thread
    busy = choose_threads("single", cores=2, environ={}, load=1.8)
    assert busy.threads == 1 and "busy" in busy.reason
    assert choose_threads("single", cores=2, environ={}, load=0.1).threads == 2


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="use must be"):
        choose_threads("server")
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        choose_threads("app", jobs=0)


def test_usable_cores_follow_affinity_and_cgroup_quota(tmp_path, monkeypatch):
    cores, how = usable_cores()
    if hasattr(os, "sched_getaffinity"):
        assert cores <= len(os.sched_getaffinity(0))
    assert cores >= 1 and how
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/\n")
    assert threads._cgroup_cpu_limit(v2, proc) == 1.5
    (v2 / "cpu.max").write_text("max 100000\n")
    assert threads._cgroup_cpu_limit(v2, proc) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu,cpuacct" / "job").mkdir(parents=True)
    (v1 / "cpu,cpuacct" / "job" / "cpu.cfs_quota_us").write_text("100000")
    (v1 / "cpu,cpuacct" / "job" / "cpu.cfs_period_us").write_text("100000")
    proc.write_text("4:cpu,cpuacct:/job\n")
    assert threads._cgroup_cpu_limit(v1, proc) == 1.0
    monkeypatch.setattr(threads, "_cgroup_cpu_limit", lambda: 1.0)
    assert usable_cores() == (1, "cgroup CPU quota 1")


def _fresh(code: str, **env) -> dict:
    """Run code in a fresh interpreter (OpenMP's settings are per process)."""
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", code], env={**base, "PYTHONPATH": str(REPO), **env},
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_importing_xmem_demo_first_sets_passive_waiting_and_a_session_applies_the_policy():
    code = ("import json, os, xmem_demo, torch, numpy as np\n"
            "from xmem_demo import InferenceSession, MemoryConfig, ModelConfig, XMem\n"
            "from xmem_demo.threads import effective_wait_policy, usable_cores\n"
            "torch.set_num_threads(64)\n"  # as if torch's default were the host's cores
            "m = XMem(ModelConfig(key_dim=16, value_dim=32, hidden_dim=8, key_width=8, key_blocks=(1, 1, 1),"
            " value_width=8, value_blocks=(1, 1, 1), decoder_dims=(32, 16))).eval()\n"
            "InferenceSession(m, MemoryConfig())\n"
            "print(json.dumps({'env': os.environ.get('OMP_WAIT_POLICY'), 'wait': effective_wait_policy()[0],"
            " 'threads': torch.get_num_threads(), 'cores': usable_cores()[0]}))\n")
    r = _fresh(code)
    assert r["env"] == "PASSIVE" and r["wait"] == "PASSIVE" and r["threads"] == r["cores"]
    # torch first: too late to choose the waiting; the policy says so
    r = _fresh("import json, torch, xmem_demo, os\nfrom xmem_demo.threads import effective_wait_policy\n"
               "print(json.dumps({'env': os.environ.get('OMP_WAIT_POLICY'), 'wait': effective_wait_policy()[0]}))")
    assert r == {"env": None, "wait": "default"}
    # the user's choice is kept
    r = _fresh("import json, os, xmem_demo\nprint(json.dumps({'env': os.environ.get('OMP_WAIT_POLICY')}))",
               OMP_WAIT_POLICY="active", OMP_NUM_THREADS="2")
    assert r == {"env": "active"}
