"""Whole datasets: segment many sequences and evaluate them, on one machine or a Ray cluster.

    xmem-demo segment-many ROOT --out PRED [--workers N] [--engine local|ray] [--shard i/n]
    xmem-demo eval PRED GT --workers N --csv DIR

One module per job, read in this order:

    datasets.py   what a dataset holds: DAVIS, YouTube-VOS or a folder of videos, as
                  `SequenceSpec`s (listing only: nothing is decoded), and reading one sequence's
                  frames and annotations (`load_sequence`)
    runner.py     `RunSettings` (typed) and `SequenceRunner`: one process segments sequences one
                  after another with one model, each into PRED/<seq>/ with a done-marker last
    summary.py    `SequenceResult`, the markers on disk, and summary.csv / summary.json
    engines.py    where the runners run: `LocalEngine` (worker processes on this machine, the
                  default chosen from its cores, GPUs and memory) or `RayEngine` (one Ray task per
                  sequence); both write the same files
    synthetic_dataset.py  a synthetic dataset in the DAVIS layout, for tests and benchmarks

Each video's memory is its own, so sequences are independent: the natural unit of
parallelism (the official eval.py loops over sequences in one process; the field shards by
sequence across GPUs and nodes).
"""
