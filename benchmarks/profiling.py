"""Where a distillation step spends its time: ours against s3prl's, phase by phase and op by op.

Usage (from the root of a source checkout):
    python benchmarks/profiling.py                 # full size, CPU, 2 threads
    python benchmarks/profiling.py --scale tiny --rounds 1

Phases (medians over interleaved rounds): teacher forward and student forward (timed by
forward hooks on the two modules), the rest of the forward (the loss), backward, and
the update (clipping, optimiser step, ``zero_grad``). Then one step of each is run under
``torch.profiler`` and its costliest operators are printed by self CPU time, with the
memory they allocated. Output goes to stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: import the harness from the checkout (not from benchmarks/ itself)
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import tempfile
import time
from typing import Dict, List, Optional

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile, record_function

from benchmarks.models import write_teacher_files
from benchmarks.scales import get_scale
from benchmarks.steps import Batch, build_step, make_batch
from espnet_distill.benchmark.machine import median

PHASES = ("teacher", "student", "loss", "backward", "update")


class _ForwardTimer:
    """Adds up the wall time of a module's forward calls (pre/post forward hooks)."""

    def __init__(self, module: nn.Module):
        self.total = 0.0
        self._start = 0.0
        module.register_forward_pre_hook(self._pre)
        module.register_forward_hook(self._post)

    def _pre(self, *_):
        self._start = time.perf_counter()

    def _post(self, *_):
        self.total += time.perf_counter() - self._start


def time_phases(step, batch: Batch, teacher_timer: _ForwardTimer, student_timer: _ForwardTimer) -> Dict[str, float]:
    """Seconds per phase of one step (CPU: no device synchronisation needed)."""
    teacher_timer.total = student_timer.total = 0.0
    with record_function("forward"):
        start = time.perf_counter()
        loss = step.compute_loss(batch)
        forward = time.perf_counter() - start
    with record_function("backward"):
        start = time.perf_counter()
        loss.backward()
        backward = time.perf_counter() - start
    with record_function("update"):
        start = time.perf_counter()
        step.update()
        update = time.perf_counter() - start
    return {
        "teacher": teacher_timer.total,
        "student": student_timer.total,
        "loss": forward - teacher_timer.total - student_timer.total,
        "backward": backward,
        "update": update,
    }


def profile_steps(scale_name: str = "base", seconds: Optional[List[float]] = None, rounds: int = 3,
                  top: int = 25, threads: int = 2) -> str:
    """Phase medians and operator tables of our step and s3prl's, as text."""
    torch.set_num_threads(threads)
    scale = get_scale(scale_name)
    cpu = torch.device("cpu")
    seconds = seconds or [4.0, 3.5, 3.0, 2.5]
    lines: List[str] = []
    with tempfile.TemporaryDirectory(prefix="espnet_distill_profile_") as tmp:
        files = write_teacher_files(scale, Path(tmp))
        steps = {"ours": build_step("ours", scale, files, cpu), "s3prl": build_step("s3prl", scale, files, cpu)}
    timers = {k: (_ForwardTimer(s.teacher), _ForwardTimer(s.student)) for k, s in steps.items()}
    batch = make_batch(seconds, cpu)
    for step in steps.values():  # warm-up (and the optimiser state)
        step(batch)
    phases: Dict[str, List[Dict[str, float]]] = {k: [] for k in steps}
    names = list(steps)
    for r in range(rounds):
        for name in names[r % 2:] + names[: r % 2]:
            phases[name].append(time_phases(steps[name], batch, *timers[name]))
    lines.append(f"batch {' + '.join(f'{s:g}' for s in seconds)} s, {threads} threads, {scale_name} scale, "
                 f"median of {rounds} interleaved rounds (seconds)")
    lines.append("| phase | ours | s3prl | ours - s3prl |")
    lines.append("| --- | ---: | ---: | ---: |")
    for phase in PHASES + ("total",):
        values = {}
        for name in names:
            rows = phases[name]
            values[name] = median([sum(r.values()) for r in rows] if phase == "total" else [r[phase] for r in rows])
        ours, s3prl = values["ours"], values["s3prl"]
        lines.append(f"| {phase} | {ours:.3f} | {s3prl:.3f} | {ours - s3prl:+.3f} |")
    for name in names:
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            time_phases(steps[name], batch, *timers[name])
        lines.append(f"\n{name}: top {top} operators by self CPU time")
        lines.append(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/profiling.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scale", choices=["base", "tiny"], default="base")
    parser.add_argument("--seconds", type=float, nargs="+", default=None, help="batch utterance lengths (4 3.5 3 2.5)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    text = profile_steps(args.scale, args.seconds, args.rounds, args.top, args.threads)
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
