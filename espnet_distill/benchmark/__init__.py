"""Inference speed of given checkpoints, with the protocol of the authors' speed test.

Run ``python -m espnet_distill.bin.benchmark --model NAME=CHECKPOINT ...`` (a recipe's stage 11;
see ``docs/benchmarks.md``). Pieces:

* :mod:`.upstreams`: a teacher or student as front-end + encoder, timed apart;
* :mod:`.inference`, :mod:`.macs`: batch-1 timing, interleaved, and MAC counts;
* :mod:`.machine`: the machine's description and timing rounds that other processes did not disturb;
* :mod:`.checkpoints`: all of it for the given files (or presets), its JSON layout and markdown table.
"""

from espnet_distill.benchmark.checkpoints import checkpoint_markdown, run_checkpoint_benchmark
from espnet_distill.benchmark.settings import BenchmarkSettings, check_device

__all__ = ["BenchmarkSettings", "check_device", "checkpoint_markdown", "run_checkpoint_benchmark"]
