"""The side-by-side speed measurement runs every variant and returns real-time factors (not a timed test)."""

from __future__ import annotations

import pytest

from espnet_distill.export.speed import VARIANTS, SpeedSettings, measure_rtf


def test_measure_rtf_returns_one_rtf_per_variant(students, tmp_path):
    rtf = measure_rtf(students["fbank"], SpeedSettings(seconds=1.0, repeats=2, warmup=0), work_dir=tmp_path)
    assert list(rtf) == list(VARIANTS)
    assert all(0 < value < 100 for value in rtf.values()), rtf
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.int8.onnx", "student.onnx"]


def test_speed_settings_are_checked():
    with pytest.raises(ValueError, match=r"unknown \['tensorrt'\]"):
        SpeedSettings(variants=("torch", "tensorrt"))
    with pytest.raises(ValueError, match="statistic must be 'median' or 'min'"):
        SpeedSettings(statistic="mean")
