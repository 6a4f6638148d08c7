"""s3prl's legacy SUPERB runner (``run_downstream.py``) with the students registered.

Usage:
    # SUPERB ASR: train, then evaluate the best dev-clean checkpoint on test-clean
    python -m espnet_distill.bin.run_downstream -m train -d asr -u distill_student_local \
        -k exp/student/student.ckpt -p exp/superb_asr --libri_root /data/LibriSpeech
    python -m espnet_distill.bin.run_downstream -m evaluate -t test-clean \
        -e exp/superb_asr/dev-clean-best.ckpt
    # -> exp/superb_asr/test-clean-noLM-{hyp,ref}.ark and "test-clean wer: ..." on stdout

Every s3prl ``run_downstream.py`` option works. Added here: ``--libri_root``; for
``-d asr`` without ``-c`` the project's own SUPERB ASR config (package data: ``espnet_distill/s3prl/resources/superb_asr.yaml``)
and character dictionary are used, and the length tables s3prl's ASR dataset reads are
written to ``<expdir>/len_for_bucket``. ``--device`` defaults to ``cpu`` when CUDA is
unavailable. Compatibility shims (:mod:`espnet_distill.s3prl.compat`) are applied first.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

import yaml

from espnet_distill.s3prl import apply_compat, check_upstream_name, register
from espnet_distill.s3prl.superb import conf_dir, load_config, prepare_asr_config

_LG = logging.getLogger(__name__)

apply_compat()
register()


def _peek_parser() -> argparse.ArgumentParser:
    """The options this wrapper reads or adds; everything else goes to s3prl untouched."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--libri_root", help="LibriSpeech-layout root for -d asr (train-clean-100, dev-clean, ...)")
    parser.add_argument("-m", "--mode")
    parser.add_argument("-d", "--downstream")
    parser.add_argument("-c", "--config")
    parser.add_argument("-u", "--upstream")
    parser.add_argument("-e", "--past_exp")
    parser.add_argument("-p", "--expdir")
    parser.add_argument("-n", "--expname")
    parser.add_argument("--hub", default="torch")
    parser.add_argument("--device")
    return parser


def prepare_argv(argv: List[str]) -> List[str]:
    """s3prl's command line for ``argv``: ``--libri_root`` consumed, ``-c`` and ``--device`` filled in.

    Raises:
        ValueError: an unknown upstream, or ``-d asr`` training without ``--libri_root``
            while the config does not set ``libri_root``.
    """
    known, _ = _peek_parser().parse_known_args(argv)
    out = _without_option(argv, "--libri_root")
    if known.upstream and known.hub == "torch":
        check_upstream_name(known.upstream)
    if known.device is None:
        import torch

        if not torch.cuda.is_available():
            out += ["--device", "cpu"]
    if known.downstream == "asr" and known.mode == "train" and not known.past_exp:
        out = _with_asr_config(out, known)
    return out


def _with_asr_config(argv: List[str], known: argparse.Namespace) -> List[str]:
    source = Path(known.config) if known.config else conf_dir() / "superb_asr.yaml"
    config = load_config(source)
    expdir = Path(known.expdir or f"result/downstream/{known.expname}")
    datarc = config["downstream_expert"]["datarc"]
    libri_root = known.libri_root or datarc.get("libri_root")
    if not libri_root:
        raise ValueError(f"-d asr: give --libri_root (a LibriSpeech-layout root); {source} does not set libri_root")
    if known.libri_root or not datarc.get("bucket_file"):
        prepare_asr_config(config, libri_root, expdir / "len_for_bucket")
    expdir.mkdir(parents=True, exist_ok=True)
    resolved = expdir / "superb_asr_config.yaml"
    resolved.write_text(yaml.safe_dump(config, sort_keys=False))
    _LG.info("SUPERB ASR config: %s (from %s)", resolved, source)
    return _without_option(argv, "-c", "--config") + ["-c", str(resolved)]


def _without_option(argv: List[str], *names: str) -> List[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in names:
            skip = True
        elif not any(arg.startswith(n + "=") for n in names if n.startswith("--")):
            out.append(arg)
    return out


def main(argv: Optional[List[str]] = None) -> None:
    """Run s3prl's ``run_downstream.main`` on ``argv`` (default: ``sys.argv[1:]``)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        s3prl_argv = prepare_argv(argv)
    except (ValueError, FileNotFoundError) as err:
        print(f"run_downstream: error: {err}", file=sys.stderr)
        sys.exit(2)
    from s3prl import run_downstream

    sys.argv = ["run_downstream.py", *s3prl_argv]
    run_downstream.main()


if __name__ == "__main__":
    main()
