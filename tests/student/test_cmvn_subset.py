"""CMVN statistics from a random subset, in parallel: equal to serial, close to the full set."""

from __future__ import annotations

import numpy as np

from espnet_distill.student.cmvn import compute_cmvn_from_data_dir


def test_subset_statistics_match_the_full_set(synth_corpus):
    """The recipes compute CMVN on a random subset (--cmvn_utts): on the synthetic corpus half of
    the 128 training utterances give every bin's mean within 0.15 standard deviations of the full
    set's and its standard deviation within 10 % (measured: about 0.05-0.1 and 4-6 %)."""
    train = synth_corpus / "train"
    full = compute_cmvn_from_data_dir(train, progress=False)
    half = compute_cmvn_from_data_dir(train, max_utts=64, seed=0, progress=False)
    assert full.num_utts == 128 and half.num_utts == 64
    assert np.max(np.abs(half.mean - full.mean) / full.std) < 0.15
    assert np.max(np.abs(np.log(half.std / full.std))) < np.log(1.10)
    other = compute_cmvn_from_data_dir(train, max_utts=64, seed=1, progress=False)
    assert not np.allclose(other.mean, half.mean)  # the seed draws another subset


def test_parallel_workers_give_the_serial_sums(synth_corpus):
    train = synth_corpus / "dev"
    serial = compute_cmvn_from_data_dir(train, progress=False)
    parallel = compute_cmvn_from_data_dir(train, jobs=2, progress=False)
    assert parallel.count == serial.count and parallel.num_utts == serial.num_utts
    np.testing.assert_allclose(parallel.mean, serial.mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(parallel.std, serial.std, rtol=1e-9)
