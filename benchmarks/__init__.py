"""Research benchmarks of a source checkout; not installed with the package.

Scripts, run from the root of the checkout with the package installed (``docs/benchmarks.md``):

* ``python benchmarks/compare_s3prl.py``: our presets and our distillation step against s3prl's
  DistilHuBERT (inference speed, seconds per step, peak memory);
* ``python benchmarks/profiling.py``: where a distillation step spends its time, ours against s3prl's.

Modules: :mod:`.scales` (the models compared, full size or tiny), :mod:`.models` (the teacher files
and the models as upstreams), :mod:`.steps` (one training step, ours and s3prl's), :mod:`.distill`
and :mod:`.memory` (their timing and peak memory), :mod:`.report` (JSON, tables, chart). The
speed protocol itself is the package's, :mod:`espnet_distill.benchmark`.
"""
