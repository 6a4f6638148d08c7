"""The student upstreams in s3prl's hub, in process."""

import pytest
import torch

from espnet_distill.s3prl import UPSTREAM_NAMES, check_upstream_name, register
from espnet_distill.student import load_student
from tests.espnet.helpers import MICRO_LAYERS

WAVS = torch.randn(2, 16000) * 0.1
LENGTHS = torch.tensor([16000, 9000])


@pytest.fixture(scope="module", autouse=True)
def registered():
    assert register() == list(UPSTREAM_NAMES)


def test_register_is_idempotent_and_refuses_foreign_entries():
    import s3prl.hub as hub

    assert register() == list(UPSTREAM_NAMES)
    original = hub.distill_student_local
    hub.distill_student_local = lambda *a, **k: None
    try:
        with pytest.raises(ValueError, match="already bound .* refusing to replace"):
            register()
    finally:
        hub.distill_student_local = original


def test_names_are_listed_like_s3prl_local_and_url_entries():
    from s3prl.nn import S3PRLUpstream

    names = S3PRLUpstream.available_names()
    assert set(UPSTREAM_NAMES) <= set(names)
    assert not set(UPSTREAM_NAMES) & set(S3PRLUpstream.available_names(only_registered_ckpt=True))


def test_s3prl_upstream_and_featurizer(student_ckpt):
    from s3prl.nn import Featurizer, S3PRLUpstream

    upstream = S3PRLUpstream("distill_student_local", path_or_url=str(student_ckpt)).eval()
    student = load_student(student_ckpt)
    assert upstream.num_layers == MICRO_LAYERS + 1
    assert upstream.hidden_sizes == [student.output_dim] * (MICRO_LAYERS + 1)
    assert upstream.downsample_rates == [student.downsample_rate] * (MICRO_LAYERS + 1) == [320] * (MICRO_LAYERS + 1)
    with torch.no_grad():
        hidden, lengths = upstream(WAVS, LENGTHS)
        reference = student(WAVS[:1], LENGTHS[:1]).hidden_states
    assert [int(n) for n in lengths[0]] == [50, 29]  # s3prl's (samples - 1) // 320 + 1
    for h, ref in zip(hidden, reference):  # the unpadded utterance matches the student itself
        assert torch.allclose(h[0, : ref.shape[1]], ref[0], rtol=1e-4, atol=1e-4)  # batched vs single: float32 noise
    featurizer = Featurizer(upstream)
    feats, feats_len = featurizer(hidden, lengths)
    assert feats.shape == (2, 50, student.output_dim) and featurizer.downsample_rate == 320


def test_custom_takes_paths_and_urls(student_ckpt, tmp_path):
    import s3prl.hub as hub
    from s3prl.util import download

    assert hub.distill_student_custom(ckpt=str(student_ckpt)).get_downsample_rates("hidden_states") == 320
    previous = download.get_dir()
    download.set_dir(tmp_path / "cache")
    try:
        expert = hub.distill_student_custom(ckpt=student_ckpt.as_uri(), refresh=False)
    finally:
        download.set_dir(previous)
    assert expert.model.num_layers == MICRO_LAYERS
    assert list((tmp_path / "cache").glob("*student.ckpt"))


def test_clear_errors(student_ckpt, tmp_path):
    import s3prl.hub as hub

    with pytest.raises(FileNotFoundError, match="does not exist .*save_student"):
        hub.distill_student_local(ckpt=str(tmp_path / "missing.ckpt"))
    with pytest.raises(ValueError, match="needs the student checkpoint path"):
        hub.distill_student_local()
    with pytest.raises(ValueError, match="needs a URL"):
        hub.distill_student_url(ckpt=str(student_ckpt))
    with pytest.raises(ValueError, match="take no model config"):
        hub.distill_student_local(ckpt=str(student_ckpt), model_config="upstream.yaml")
    distiller = tmp_path / "distiller.ckpt"  # an s3prl DistilHuBERT checkpoint is the wrong kind
    torch.save({"Config": {"distiller": {}}, "Distiller": {}}, distiller)
    with pytest.raises(ValueError, match="not an espnet_distill.student checkpoint"):
        hub.distill_student_local(ckpt=str(distiller))
    with pytest.raises(ValueError, match="unknown s3prl upstream 'distill_student_lokal' .*distill_student_local"):
        check_upstream_name("distill_student_lokal")
    check_upstream_name("distill_student_url")
