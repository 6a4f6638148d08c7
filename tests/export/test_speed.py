"""The side-by-side speed measurement runs every variant and returns real-time factors (not a timed test).

Its rows in the benchmark (``bin.benchmark --variants``) are tested in tests/benchmark/test_cli.py.
"""

from __future__ import annotations

import pytest

from espnet_distill.export.speed import VARIANTS, SpeedSettings, measure_rtf


def test_measure_rtf_returns_one_rtf_per_variant(students, tmp_path):
    rtf = measure_rtf(students["fbank"], SpeedSettings(seconds=1.0, repeats=2, warmup=0), work_dir=tmp_path)
    assert list(rtf) == list(VARIANTS)
    assert all(0 < value < 100 for value in rtf.values()), rtf
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.int8.onnx", "student.onnx"]


def test_measure_rtf_times_in_the_benchmark_rounds(students, monkeypatch):
    """One protocol: the variants are timed by the benchmark's rounds, at the settings' one duration."""
    import espnet_distill.export.speed as speed

    seen = {}

    def fake_rounds(upstreams, settings, device):
        seen.update(names=[u.name for u in upstreams], settings=settings)
        return {u.name: {settings.durations[0]: {"total": [0.3, 0.1, 0.2]}} for u in upstreams}, {}

    monkeypatch.setattr(speed, "time_upstreams", fake_rounds)
    settings = SpeedSettings(seconds=2.0, repeats=3, warmup=0, variants=("fp32", "int8"))
    assert measure_rtf(students["fbank"], settings) == {"fp32": pytest.approx(0.1), "int8": pytest.approx(0.1)}
    assert seen["names"] == ["student", "student.int8"]
    bench = seen["settings"]
    assert (bench.durations, bench.repeats, bench.warmup, bench.threads) == ((2.0,), 3, 0, 1)
    settings.statistic = "min"
    assert measure_rtf(students["fbank"], settings)["int8"] == pytest.approx(0.05)


def test_speed_settings_are_checked():
    with pytest.raises(ValueError, match=r"unknown \['tensorrt'\]"):
        SpeedSettings(variants=("fp32", "tensorrt"))
    with pytest.raises(ValueError, match="statistic must be 'median' or 'min'"):
        SpeedSettings(statistic="mean")
