"""Speed and memory benchmarks: inference (the authors' speed-test protocol) and distillation throughput.

Run ``python -m espnet_distill.bin.benchmark`` (see ``docs/benchmarks.md``). Pieces:

* :mod:`.scales`: the models compared (full ``base`` size, or ``tiny`` for CI);
* :mod:`.upstreams`: the teacher files and the models as front-end + encoder;
* :mod:`.inference`, :mod:`.macs`: batch-1 timing, interleaved, and MAC counts;
* :mod:`.steps`, :mod:`.distill`, :mod:`.memory`: one training step, ours and s3prl's,
  timed interleaved, and their peak memory in fresh processes;
* :mod:`.report`: JSON layout, markdown tables and the PNG chart;
* :mod:`.runner`: all of it in one call, :func:`run_benchmark`;
* :mod:`.profiling`: where a distillation step spends its time, ours against s3prl's.
"""

from espnet_distill.benchmark.report import REQUIRED_KEYS, lookup, markdown, plot
from espnet_distill.benchmark.runner import run_benchmark
from espnet_distill.benchmark.settings import BenchmarkSettings, check_device

__all__ = ["REQUIRED_KEYS", "BenchmarkSettings", "check_device", "lookup", "markdown", "plot", "run_benchmark"]
