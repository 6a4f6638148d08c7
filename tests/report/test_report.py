"""Report pieces: ESPnet log parsing and the plain-words verdict."""

from espnet_distill.report.espnet_logs import epoch_results_from_text
from espnet_distill.report.render import verdict

LOG = """[vm] 2026-11-26 19:16:12,675 (trainer:392) INFO: 1epoch results: [train] iter_time=0.053, loss=0.995, \
stage=1.500, time=2 minutes and 16.98 seconds, total_count=50, [valid] loss=1.060, cer_ctc=0.9, time=12.69 seconds, total_count=6
noise line
[vm] 2026-11-26 19:20:10,271 (trainer:392) INFO: 2epoch results: [train] loss=1.038, optim0_lr0=8.198e-04, \
[valid] loss=1.004, acc=nan
"""


def test_epoch_results():
    r = epoch_results_from_text(LOG)
    assert sorted(r) == [1, 2]
    assert r[1]["train"]["loss"] == 0.995 and r[1]["train"]["stage"] == 1.5
    assert r[1]["valid"] == {"loss": 1.06, "cer_ctc": 0.9, "time": 12.69, "total_count": 6.0}
    assert r[2]["train"]["optim0_lr0"] == 8.198e-04
    assert r[2]["valid"]["loss"] == 1.004 and r[2]["valid"]["acc"] != r[2]["valid"]["acc"]  # nan


def _arm(cers):
    import statistics

    return {"cer": statistics.fmean(cers), "seeds": [{"seed": i + 1, "cer": c} for i, c in enumerate(cers)],
            "cer_stats": {"mean": statistics.fmean(cers), "std": statistics.stdev(cers) if len(cers) > 1 else 0.0}}


def test_verdicts():
    assert "one seed per arm" in verdict(_arm([0.15]), _arm([0.18]))["text"]
    beat = verdict(_arm([0.10, 0.11, 0.12]), _arm([0.20, 0.21, 0.19]))
    assert beat["beats_scratch_beyond_spread"] and "more than the seed spread" in beat["text"]
    within = verdict(_arm([0.15, 0.20, 0.10]), _arm([0.16, 0.21, 0.12]))
    assert not within["beats_scratch_beyond_spread"] and "within the seed spread" in within["text"]
    worse = verdict(_arm([0.20, 0.21, 0.22]), _arm([0.15, 0.16, 0.14]))
    assert "did not beat scratch" in worse["text"]
    assert "no from-scratch control" in verdict(_arm([0.1]), None)["text"]
