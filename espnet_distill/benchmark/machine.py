"""A description of the machine a benchmark ran on, and timing helpers that respect the device."""

from __future__ import annotations

import logging
import os
import platform
import resource
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

_LG = logging.getLogger(__name__)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _total_memory_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return 0.0


def load_average() -> List[float]:
    """1/5/15-minute load averages (empty where unavailable)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def describe_machine(device: torch.device) -> Dict[str, Any]:
    """CPU model, logical CPUs, torch threads, memory, versions and the device's name."""
    import torchaudio

    info: Dict[str, Any] = {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count() or 0,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "memory_gb": _total_memory_gb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchaudio": torchaudio.__version__,
        "device": device.type,
        "load_average_start": load_average(),
    }
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    else:
        info["device_name"] = f"cpu: {info['cpu']} ({torch.get_num_threads()} threads)"
    return info


def synchronize(device: torch.device) -> None:
    """Wait for queued device work (CUDA); nothing on CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device) -> Tuple[Any, float]:
    """Run ``fn()`` and return its result and the wall time in seconds (device-synchronised)."""
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values: nothing was timed")
    return float(statistics.median(values))


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Median over rounds of ``numerator[r] / denominator[r]``.

    Both were timed in the same round, next to each other, so a slow spell of the
    machine hits both; the median of per-round ratios is steadier than a ratio of medians.
    """
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError(
            f"paired_ratio: expected two equal, non-empty series, found {len(numerator)} and {len(denominator)}"
        )
    return median([n / d for n, d in zip(numerator, denominator)])


# -- other processes on a shared machine -------------------------------------------------------
class CpuMonitor:
    """How much CPU other processes took while we measured.

    ``foreign share = (all CPUs' busy time - this process's CPU time) / (wall time * CPUs)``,
    from ``/proc/stat`` and ``getrusage``: 0 on a quiet machine, 0.5 when another process
    kept half of the CPUs busy. Where ``/proc/stat`` is missing it always reads 0.
    """

    def __init__(self) -> None:
        self.cpus = os.cpu_count() or 1
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.available = self._busy() is not None
        self._start: Optional[Tuple[float, float, float]] = None

    def _busy(self) -> Optional[float]:
        try:
            with open("/proc/stat", encoding="utf-8") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal: busy = all but idle and iowait
        return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / self.tick

    def _snapshot(self) -> Tuple[float, float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return (self._busy() or 0.0), usage.ru_utime + usage.ru_stime, time.perf_counter()

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> float:
        """The foreign share since :meth:`start` (0 when unavailable)."""
        if self._start is None:
            raise RuntimeError("CpuMonitor.stop() before start()")
        busy0, own0, t0 = self._start
        busy1, own1, t1 = self._snapshot()
        if not self.available or t1 <= t0:
            return 0.0
        return max(0.0, (busy1 - busy0) - (own1 - own0)) / ((t1 - t0) * self.cpus)

    def wait_for_quiet(self, threshold: float, timeout: float, window: float = 1.0) -> float:
        """Sleep until a ``window``-second span with foreign share below ``threshold``, at most ``timeout`` s.

        Returns the seconds waited.
        """
        waited = 0.0
        while self.available and waited < timeout:
            self.start()
            time.sleep(window)
            waited += window
            if self.stop() < threshold:
                break
        return waited


@dataclass
class Rounds:
    """Timing rounds and which of them other processes disturbed.

    Attributes:
        results: what each round returned, in order.
        foreign: the foreign CPU share during each round.
        threshold: rounds above it count as contended.
        used: indices of the rounds the summary uses.
        waited_s: seconds spent waiting for a quiet machine.
    """

    results: List[Any] = field(default_factory=list)
    foreign: List[float] = field(default_factory=list)
    threshold: float = 0.1
    used: List[int] = field(default_factory=list)
    waited_s: float = 0.0

    @property
    def clean(self) -> List[int]:
        return [i for i, f in enumerate(self.foreign) if f <= self.threshold]

    def info(self) -> Dict[str, Any]:
        return {
            "rounds": len(self.results),
            "clean_rounds": len(self.clean),
            "rounds_used": len(self.used),
            "only_clean_rounds_used": set(self.used) <= set(self.clean),
            "foreign_cpu_share": [round(f, 3) for f in self.foreign],
            "waited_s": round(self.waited_s, 1),
        }


def collect_rounds(
    run_round: Callable[[int], Any],
    repeats: int,
    *,
    max_rounds: int,
    threshold: float,
    monitor: Optional[CpuMonitor] = None,
    wait_budget_s: float = 0.0,
    on_round: Optional[Callable[[], None]] = None,
) -> Rounds:
    """Run ``run_round(r)`` until ``repeats`` rounds were undisturbed by other processes.

    A round whose foreign CPU share exceeds ``threshold`` is kept but marked contended;
    after one, the next round waits (within ``wait_budget_s`` in all) for a quiet second.
    At most ``max_rounds`` rounds run. The summary uses the clean rounds when there are
    at least ``ceil(repeats / 2)`` of them, else every round (``info()`` says which).
    """
    monitor = monitor or CpuMonitor()
    rounds = Rounds(threshold=threshold)
    r = 0
    while r < max(max_rounds, repeats) and len(rounds.clean) < repeats:
        if rounds.foreign and rounds.foreign[-1] > threshold and rounds.waited_s < wait_budget_s:
            rounds.waited_s += monitor.wait_for_quiet(threshold, wait_budget_s - rounds.waited_s)
        monitor.start()
        rounds.results.append(run_round(r))
        rounds.foreign.append(monitor.stop())
        if on_round is not None:
            on_round()
        r += 1
    clean = rounds.clean
    rounds.used = clean[:repeats] if len(clean) >= (repeats + 1) // 2 else list(range(len(rounds.results)))
    if not set(rounds.used) <= set(clean):
        _LG.warning(
            "only %d of %d timing rounds ran undisturbed (other processes took > %.0f%% of the CPUs); "
            "the medians use every round and are noisy", len(clean), len(rounds.results), 100 * threshold,
        )
    return rounds
