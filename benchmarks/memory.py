"""Peak memory of a distillation step, measured in a fresh process per variant.

CPU: ``tracemalloc`` does not see torch's allocations, so the step's peak is read from the
kernel's resident-set high-water mark. After the models and the batch are set up, freed
heap is returned to the system (``malloc_trim``), the high-water mark is reset (writing
``5`` to ``/proc/self/clear_refs``) and the resident size noted; the peak is the high-water
mark after ``memory_steps`` steps minus that baseline: activations, gradients, optimiser
state and the teacher's work. Where the reset is not allowed, a thread samples the
resident size every 2 ms instead (see :class:`PeakMemory`).

The child runs with ``MALLOC_MMAP_THRESHOLD_=65536``: glibc then serves every block of
64 KiB or more with its own mapping and unmaps it when freed, so the resident size
follows the live tensors. With glibc's default, adaptive threshold, freed blocks stay
resident or not depending on the allocation history and the same step's peak varies by
+-60 MB from run to run (measured on the full-size S&W step); with it, to 0.1 MB.

CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus the
memory allocated before the steps.

Run as ``python -m benchmarks.memory SPEC_JSON`` from the checkout; prints one JSON line.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Optional

import torch

_LG = logging.getLogger(__name__)


def _status_kb(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _trim_heap() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _RssSampler(threading.Thread):
    """Reads ``VmRSS`` every ``interval`` seconds and keeps the largest value (KiB)."""

    def __init__(self, interval: float = 0.002):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_kb = _status_kb("VmRSS") or 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_kb = max(self.peak_kb, _status_kb("VmRSS") or 0)
            time.sleep(self.interval)

    def finish(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak_kb, _status_kb("VmRSS") or 0)


class PeakMemory:
    """Measures the peak memory of the code run between :meth:`start` and :meth:`stop`, in MiB.

    CUDA: ``max_memory_allocated``. CPU, in order of preference: the kernel's RSS
    high-water mark after a reset (exact); ``VmRSS`` sampled every 2 ms by a thread where
    the reset is not allowed (may miss spikes shorter than that); ``ru_maxrss`` deltas where
    there is no ``/proc`` (0 when the set-up peaked higher than the measured code).
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.method = ""
        self._base_kb = 0
        self._sampler: Optional[_RssSampler] = None

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base_kb = torch.cuda.memory_allocated(self.device) // 1024
            self.method = "torch.cuda.max_memory_allocated"
            return
        _trim_heap()
        rss = _status_kb("VmRSS")
        if rss is not None and _reset_peak_rss():
            self.method = "VmHWM - VmRSS (clear_refs reset)"
            self._base_kb = _status_kb("VmRSS") or rss
        elif rss is not None:
            self.method = "sampled VmRSS peak - VmRSS (every 2 ms)"
            self._base_kb = rss
            self._sampler = _RssSampler()
            self._sampler.start()
        else:
            self.method = "ru_maxrss delta"
            self._base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def stop(self) -> Dict[str, float]:
        """``{"peak_mb": step peak above the baseline, "peak_total_mb": absolute peak}``."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak_kb = torch.cuda.max_memory_allocated(self.device) // 1024
        elif self.method.startswith("VmHWM"):
            peak_kb = _status_kb("VmHWM") or 0
        elif self._sampler is not None:
            peak_kb = self._sampler.finish()
            self._sampler = None
        else:
            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {"peak_mb": max(peak_kb - self._base_kb, 0) / 1024, "peak_total_mb": peak_kb / 1024}


def measure_in_this_process(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Build the step of ``spec["variant"]``, then measure ``spec["steps"]`` steps."""
    from benchmarks.models import TeacherFiles
    from benchmarks.scales import get_scale
    from benchmarks.steps import build_step, make_batch

    torch.set_num_threads(int(spec["threads"]))
    device = torch.device(spec["device"])
    dtype = torch.bfloat16 if spec.get("autocast") == "bf16" else None
    files = TeacherFiles(Path(spec["teacher_fairseq"]), Path(spec["teacher_s3prl"]))
    step = build_step(spec["variant"], get_scale(spec["scale"]), files, device, dtype,
                      dt_fbank_disc_weight=float(spec.get("dt_fbank_disc_weight", 0.4)))
    batch = make_batch(spec["step_seconds"], device, int(spec.get("seed", 0)))
    meter = PeakMemory(device)
    meter.start()
    for _ in range(int(spec["steps"])):
        loss = step(batch)
    result = meter.stop()
    method = meter.method
    if device.type == "cpu" and os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        method += f", MALLOC_MMAP_THRESHOLD_={os.environ['MALLOC_MMAP_THRESHOLD_']}"
    result.update(method=method, loss=float(loss))
    return result


def measure_in_subprocess(spec: Dict[str, Any], timeout: float = 1800.0) -> Dict[str, Any]:
    """Run :func:`measure_in_this_process` in a fresh interpreter and return its result.

    Raises:
        RuntimeError: the child failed; the message holds the end of its stderr.
    """
    cmd = [sys.executable, "-m", "benchmarks.memory", json.dumps(spec)]
    checkout = str(Path(__file__).resolve().parents[1])  # where `benchmarks` is importable from
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]),
               PYTHONPATH=os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")])))
    env.setdefault("MALLOC_MMAP_THRESHOLD_", "65536")  # resident size = live memory (see the module doc)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"peak-memory measurement of step {spec['variant']!r} failed (exit {proc.returncode}); "
            f"expected one JSON line on stdout. stderr ends with:\n{proc.stderr[-3000:]}"
        )
    return json.loads(lines[-1])


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python -m benchmarks.memory SPEC_JSON")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = json.loads(argv[0])
    stdout, sys.stdout = sys.stdout, sys.stderr  # stdout carries the result line only
    try:
        result = measure_in_this_process(spec)
    finally:
        sys.stdout = stdout
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
