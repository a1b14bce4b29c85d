"""MemoryConfig's field metadata is the one list of memory settings: the CLI is built from it."""

from __future__ import annotations

import argparse
from dataclasses import fields

from xmem_demo.cli import add_memory_arguments, memory_config_from_args
from xmem_demo.config import MemoryConfig


def _parse(argv):
    p = argparse.ArgumentParser()
    add_memory_arguments(p)
    return memory_config_from_args(p.parse_args(argv))


def test_every_user_setting_has_metadata_with_a_valid_default_range():
    settings = MemoryConfig.settings()
    assert set(settings) == {f.name for f in fields(MemoryConfig)} - {"count_long_term_usage"}
    d = MemoryConfig()
    for name, s in settings.items():
        assert s.help and s.label and s.flag and s.flag.startswith("--")
        if s.low is not None:
            assert s.low <= getattr(d, name) <= s.high, name


def test_cli_flags_come_from_the_metadata():
    assert _parse([]) == MemoryConfig()
    changed = _parse(["--mem-every", "3", "--top-k", "7", "--deep-update-every", "4", "--min-mid-term-frames", "2",
                      "--max-mid-term-frames", "6", "--num-prototypes", "16", "--max-long-term-elements", "900",
                      "--disable-long-term"])
    assert changed == MemoryConfig(mem_every=3, top_k=7, deep_update_every=4, min_mid_term_frames=2,
                                   max_mid_term_frames=6, num_prototypes=16, max_long_term_elements=900,
                                   enable_long_term=False)
