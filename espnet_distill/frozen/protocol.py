"""Run the frozen protocol: every upstream x every seed, the same downstream and budget.

The result (``frozen.json``) per upstream: test CER mean, sample standard deviation and the seeds
(first test set at the top level, every test set under ``tests``), each run's best valid CER and
learned layer weights; and, when the upstreams ``teacher``, ``student`` and ``fbank`` are all there,
the share of the teacher's gain over fbank that the student keeps.
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from espnet_distill.common import Pathlike, write_json
from espnet_distill.data.kaldi_dir import read_data_dir
from espnet_distill.frozen.config import FrozenConfig
from espnet_distill.frozen.downstream import CharCodec, train_and_test
from espnet_distill.frozen.upstreams import UpstreamSpec, cached_features

_LG = logging.getLogger(__name__)


def run_frozen(upstreams: Sequence[UpstreamSpec], train_dir: Pathlike, valid_dir: Pathlike,
               test_dirs: Sequence[Pathlike], token_list: Sequence[str], out_dir: Pathlike,
               seeds: Sequence[int] = (1, 2, 3), config: Optional[FrozenConfig] = None,
               cache_dir: Optional[Pathlike] = None) -> Dict:
    """Train and test one downstream per upstream and seed; write ``<out_dir>/frozen.json``.

    Args:
        upstreams: what to compare; names must differ.
        train_dir, valid_dir, test_dirs: Kaldi data directories with ``wav.scp`` and ``text``;
            a test set is named by its directory's name.
        token_list: ESPnet character token list (``<blank>`` first).
        out_dir: results (and the feature cache, unless ``cache_dir``).
        seeds: downstream seeds (and ``{seed}`` of per-seed upstream sources).
        config: downstream and budget (default :class:`FrozenConfig`).
        cache_dir: where hidden states are cached (default ``<out_dir>/cache``); runs that share
            it extract an upstream's features of a data directory once (entries are keyed by the
            upstream's source and the directory's contents).

    Returns:
        The contents of ``frozen.json``.
    """
    config = config or FrozenConfig()
    names = [u.name for u in upstreams]
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"upstream names must be unique and at least one, found {names}")
    if not seeds:
        raise ValueError("at least one seed is needed")
    out_dir = Path(out_dir)
    cache = Path(cache_dir) if cache_dir is not None else out_dir / "cache"
    codec = CharCodec(token_list)
    dirs = [Path(train_dir), Path(valid_dir), *map(Path, test_dirs)]
    texts = {str(d): _texts(d) for d in dirs}
    test_names = [Path(d).name for d in test_dirs]
    if len(set(test_names)) != len(test_names):
        raise ValueError(f"test sets are named by their directories, and these repeat: {test_names}")
    results: Dict[str, Dict] = {}
    for spec in upstreams:
        runs = []
        for seed in seeds:
            resolved = spec.resolve(seed)
            start = time.time()
            feats = {d: f.float32() for d, f in
                     cached_features(resolved, dirs, cache, config.extract_batch_size).items()}
            tests = {name: (feats[str(d)], texts[str(d)]) for name, d in zip(test_names, dirs[2:])}
            run = train_and_test(feats[str(dirs[0])], texts[str(dirs[0])], feats[str(dirs[1])], texts[str(dirs[1])],
                                 tests, codec, config, seed)
            runs.append({"seed": seed, "source": resolved.source, "valid_cer": run.valid_cer,
                         "best_update": run.best_update, "tests": run.test, "layer_weights": run.layer_weights,
                         "final_train_loss": run.train_loss[-1], "seconds": time.time() - start})
            _LG.info("frozen %s seed %d: valid CER %.2f %%, CER %.2f %% on %s (%.0f s)", spec.name, seed,
                     100 * run.valid_cer, 100 * run.test[test_names[0]]["cer"], test_names[0], runs[-1]["seconds"])
        results[spec.name] = _summary(runs, test_names, spec)
    out = {"upstreams": results, "test_sets": test_names, "config": config.to_dict(),
           "train_dir": str(train_dir), "valid_dir": str(valid_dir), "gain_kept": gain_kept(results),
           "threads": torch.get_num_threads()}
    write_json(out_dir / "frozen.json", out)
    return out


def gain_kept(results: Dict[str, Dict], student: str = "student", teacher: str = "teacher",
              baseline: str = "fbank") -> Optional[float]:
    """(baseline CER - student CER) / (baseline CER - teacher CER), or ``None`` when an upstream is
    missing or the teacher does not beat the baseline (then there is no gain to keep)."""
    if not all(n in results for n in (student, teacher, baseline)):
        return None
    gain = results[baseline]["cer"] - results[teacher]["cer"]
    return (results[baseline]["cer"] - results[student]["cer"]) / gain if gain > 0 else None


def _summary(runs: List[Dict], test_names: List[str], spec: UpstreamSpec) -> Dict:
    tests = {}
    for name in test_names:
        cers = [r["tests"][name]["cer"] for r in runs]
        wers = [r["tests"][name]["wer"] for r in runs]
        tests[name] = {"cer": statistics.fmean(cers), "cer_std": _std(cers), "wer": statistics.fmean(wers),
                       "wer_std": _std(wers)}
    return {**tests[test_names[0]], "seeds": [r["seed"] for r in runs], "source": spec.source,
            "tests": tests, "runs": runs}


def _std(values: List[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _texts(data_dir: Path) -> Dict[str, str]:
    data = read_data_dir(data_dir)
    texts = data.texts()
    missing = [u for u in data.utt_ids if u not in texts]
    if not texts or missing:
        raise ValueError(f"{data_dir}: the frozen protocol needs a transcript for every utterance "
                         f"(text); {len(missing)} missing, e.g. {missing[:3]}")
    return {u: texts[u] for u in data.utt_ids}
