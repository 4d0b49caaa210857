"""Video, audio and 3-D recipes (helper N3): mechanism checks without training, tiny smoke trainings, and
quick demos asserting the relative outcome that does not depend on training length (causality)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tokensmith.neural import data as D
from tokensmith.neural.recipes import _common as C


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


# --- MAGVIT ---------------------------------------------------------------------------------------
def test_magvit_causal_tokens_ignore_the_future_and_first_frame_is_an_image():
    from tokensmith.neural.recipes import magvit as M

    torch.manual_seed(0)
    vid = D.moving_sprites(4, frames=9, size=16, seed=0)[0]
    causal = M.Magvit(M.MagvitConfig())
    causal(torch.as_tensor(vid))  # k-means init of the codebook (training mode)
    causal.eval()
    chk = M.causality_check(causal, vid)
    assert chk["past_tokens_changed"] == 0.0 and chk["future_tokens_changed"] > 0
    assert chk["first_frame_alone_matches"] == 1.0
    noncausal = M.Magvit(M.MagvitConfig(causal=False))
    noncausal(torch.as_tensor(vid))
    noncausal.eval()
    assert M.causality_check(noncausal, vid)["past_tokens_changed"] > 0


def test_magvit_equal_bits_and_grid():
    from tokensmith.neural.demos.magvit import arms

    cfgs = list(arms().values())
    assert cfgs[0].latent_grid == (3, 4, 4) and cfgs[2].latent_grid == (9, 2, 2)
    assert len({round(c.bits) for c in cfgs}) == 1  # 384 bits per clip in every arm
    from tokensmith.errors import ConfigError
    from tokensmith.neural.recipes.magvit import MagvitConfig

    with pytest.raises(ConfigError):
        MagvitConfig(frames=8)


def test_magvit_trains_saves_and_pads_any_length(tmp_path):
    from tokensmith.neural.recipes import magvit as M

    vid = D.moving_sprites(8, frames=8, size=16, seed=0)[0]  # 8 frames: padded to 9 inside
    model, info = M.train(M.MagvitConfig(), vid, steps=3, batch_size=4)
    assert np.isfinite(info["final_loss"])
    rec, ids, _ = model(torch.as_tensor(vid[:2]))
    assert rec.shape == (2, 8, 1, 16, 16) and ids.shape == (2, 3, 4, 4)
    M.save(model, tmp_path / "m")
    again = M.load(tmp_path / "m")
    with torch.no_grad():
        assert torch.equal(again.encode(torch.as_tensor(vid[:2]))[1], model.encode(torch.as_tensor(vid[:2]))[1])


def test_magvit_quick_demo_causality(tmp_path):
    from tokensmith.neural.demos import magvit as demo

    r = demo.run(tmp_path, quick=True, seeds=1, device="cpu", steps=8, log=lambda *_: None)
    causal, noncausal, per_frame = (r["arms"][a]["agg"] for a in r["arms"])
    assert causal["past_tokens_changed"]["mean"] == 0.0
    assert noncausal["past_tokens_changed"]["mean"] > 0.1
    assert causal["first_frame_alone_matches"]["mean"] == 1.0
    assert (tmp_path / "psnr_per_frame.png").is_file() and (tmp_path / "reconstructions.png").is_file()


# --- HiTVideo ---------------------------------------------------------------------------------------
def test_hitvideo_two_layers_bpp_and_shapes():
    from tokensmith.neural.recipes import hitvideo as H

    h = H.HiTVideo(H.HiTVideoConfig(frames=9, size=16, width=16)).eval()
    vid = torch.as_tensor(D.moving_sprites(2, frames=9, size=16, seed=0)[0])
    coarse, ids, _ = h(vid, layers=1)
    both, _, _ = h(vid, layers=2)
    assert coarse.shape == both.shape == vid.shape
    assert ids[0].shape == (2, 3, 2, 2) and ids[1].shape == (2, 3, 4, 4)
    assert h.bpp(1) * 5 == pytest.approx(h.bpp(2))  # coarse layer is 4x more compressed: 1 : 1 + 4


# --- VibeVoice ------------------------------------------------------------------------------------
def test_vibevoice_frame_rate_causality_and_sigma_noise():
    from tokensmith.neural.recipes import vibevoice as V

    cfg = V.VibeVoiceConfig()
    assert cfg.frame_rate == pytest.approx(7.8125)
    torch.manual_seed(0)
    model = V.VibeVoiceTokenizer(cfg).eval()
    au = torch.as_tensor(D.harmonic_audio(2, segments=4, seed=0)[0])  # 5120 samples → 5 frames
    z = model.encode(au)
    assert z.shape == (2, 5, cfg.latent_dim)
    hop = cfg.hop * math.prod(cfg.strides)
    changed = au.clone()
    changed[:, 3 * hop:] = 0  # frames 0..2 end before sample 3·hop
    z2 = model.encode(changed)
    assert torch.allclose(z[:, :3], z2[:, :3], atol=1e-5) and not torch.allclose(z[:, 3:], z2[:, 3:])
    model.train()
    a, _, _ = model(au)
    b, _, _ = model(au)
    assert not torch.allclose(a, b)  # σ-VAE samples noise in training
    model.eval()
    assert torch.allclose(model(au)[0], model(au)[0])


@pytest.mark.parametrize("bottleneck", ["sigma", "kl", "ae", "vq"])
def test_vibevoice_bottlenecks_train_and_roundtrip(bottleneck, tmp_path):
    from tokensmith.neural.recipes import vibevoice as V

    au = D.harmonic_audio(4, segments=4, seed=0)[0]
    model, info = V.train(V.VibeVoiceConfig(bottleneck=bottleneck), au, steps=2, batch_size=4)
    assert np.isfinite(info["final_loss"])
    ev = V.evaluate(model, au)
    assert np.isfinite(ev["recon_mse"])
    V.save(model, tmp_path / bottleneck)
    again = V.load(tmp_path / bottleneck)
    x = torch.as_tensor(au[:1])
    with torch.no_grad():
        assert torch.allclose(again.decode(again.encode(x)), model.decode(model.encode(x)), atol=1e-5)


# --- VAT -------------------------------------------------------------------------------------------
def test_vat_scale_prefixes_and_equal_byte_baseline():
    from tokensmith.neural.demos.vat import fps_baseline
    from tokensmith.neural.recipes import vat as V

    pts = D.point_clouds(16, points=128, seed=0)[0]
    model, _ = V.train(V.VATConfig(points=128, scale_dropout=0.3), pts, C.TrainConfig(steps=3, batch_size=8))
    model.eval()
    assert [model.bytes_at(n) for n in (1, 2, 3, 4)] == [1, 3, 7, 15]
    x = torch.as_tensor(pts[:4])
    with torch.no_grad():
        outs = [model(x, n_scales=n)[0] for n in (1, 2, 3, 4)]
    assert all(o.shape == (4, 128, 3) for o in outs)
    assert not torch.allclose(outs[0], outs[-1])  # later scales add detail
    b15, b3 = fps_baseline(pts, 15), fps_baseline(pts, 3)
    assert b15["chamfer"] < b3["chamfer"]  # 5 points beat 1 point
    assert math.isnan(fps_baseline(pts, 1)["chamfer"])


# --- I²-World ----------------------------------------------------------------------------------------
def test_i2world_token_budget_of_the_arms():
    from tokensmith.neural.demos.i2world import _tokens
    from tokensmith.neural.recipes.i2world import I2WorldConfig

    assert _tokens(I2WorldConfig(inter_scene=False)) == 84
    assert _tokens(I2WorldConfig(scales=(2, 4, 8, 8), inter_scene=False)) == _tokens(I2WorldConfig()) == 148


def test_i2world_inter_scene_uses_history():
    from tokensmith.neural.recipes import i2world as W

    occ = D.occupancy(3, frames=2, seed=0)
    model, _ = W.train(W.I2WorldConfig(), occ, C.TrainConfig(steps=2, batch_size=3))
    model.eval()
    cur, prev = torch.as_tensor(occ[:, 1]), torch.as_tensor(occ[:, 0])
    with torch.no_grad():
        with_hist, ids, _ = model(cur, prev)
        without, ids0, _ = model(cur, None)
    assert len(ids) == 2 and len(ids0) == 1  # the inter-scene step adds one token map
    assert with_hist.shape == (3, 4, 32, 32, 8) and not torch.allclose(with_hist, without)
    miou, iou = W.miou(cur, cur, 4)
    assert miou == 1.0 and iou == 1.0


# --- audio codecs and STD-PLM (tier 2: mechanism only) ---------------------------------------------
def test_tadicodec_bsq_tokens_at_6_25_hz_and_text_condition():
    from tokensmith.neural.recipes import tadicodec as T

    cfg = T.TaDiCodecConfig()
    assert cfg.bitrate_bps == 87.5
    au, ph = D.harmonic_audio(2, segments=4, seed=0)
    spec, pf = T.prepare(au, ph)
    model = T.TaDiCodec(cfg).eval()
    q, ids, _ = model.encode(spec)
    assert ids.shape == (2, spec.shape[1] // 8) and int(ids.max()) < 2**14
    assert torch.allclose(q.norm(dim=-1), torch.ones(()), atol=1e-4) or q.shape[-1] == cfg.width
    with torch.no_grad():
        assert not torch.allclose(model.decode(q, pf), model.decode(q, None))


def test_longcat_grouped_rvq_levels_and_bitrate():
    from tokensmith.neural.recipes import longcat as LC
    from tokensmith.neural.recipes._audio import log_spectrogram

    cfg = LC.LongCatConfig(semantic_codes=256)
    assert [round(LC.LongCatConfig().bitrate_bps(n)) for n in (1, 2, 3)] == [433, 649, 866]
    spec = log_spectrogram(torch.as_tensor(D.harmonic_audio(2, segments=4, seed=0)[0]), hop=480)
    model = LC.LongCatCodec(cfg).eval()
    model(spec)  # k-means init
    for n in (1, 2, 3):
        _, ids, _ = model.encode(spec, n)
        assert len(ids) == 1 + n
        assert int(ids[1].max()) < 90 * 90  # mixed-radix id of 2 groups × 90 codes


def test_std_plm_sandglass_regions():
    from tokensmith.neural.recipes import std_plm as S

    graph = D.graph_diffusion(80, seed=0)
    model, info = S.train(S.STDPLMConfig(), graph, C.TrainConfig(steps=2, batch_size=4))
    assert np.isfinite(info["final_loss"])
    x, m, y = S.windows(graph["series"], graph["mask"], 12, 12)
    with torch.no_grad():
        pred, attn = model(torch.as_tensor(x[:2]), torch.as_tensor(m[:2]))
    assert pred.shape == (2, 12, 50) and attn.shape == (2, 8, 50)
    assert torch.allclose(attn.sum(-1), torch.ones(2, 8), atol=1e-4)  # each region is a distribution over nodes


# --- short trainings asserting the relative outcome of the demos ---------------------------------------
def test_vibevoice_sigma_vae_decoder_tolerates_latent_noise_better_than_ae():
    from tokensmith.neural.recipes import vibevoice as V

    tr, te = D.harmonic_audio(32, segments=4, seed=1)[0], D.harmonic_audio(16, segments=4, seed=2)[0]
    penalty = {}
    for bn in ("sigma", "ae"):
        model, _ = V.train(V.VibeVoiceConfig(bottleneck=bn), tr, steps=80, batch_size=16, seed=0)
        ev = V.evaluate(model, te)
        penalty[bn] = ev["noise_mse"] - ev["recon_mse"]
    assert penalty["sigma"] < penalty["ae"]


def test_vat_tokens_beat_equal_byte_point_storage():
    from tokensmith.neural import losses as L
    from tokensmith.neural.demos.vat import fps_baseline
    from tokensmith.neural.recipes import vat as V

    tr, te = D.point_clouds(256, points=128, seed=1)[0], D.point_clouds(32, points=128, seed=2)[0]
    model, _ = V.train(V.VATConfig(points=128, scale_dropout=0.3), tr, C.TrainConfig(steps=60, batch_size=32, lr=2e-3))
    model.eval()
    x = torch.as_tensor(te)
    with torch.no_grad():
        f3 = float(L.fscore(model(x, n_scales=2)[0], x, 0.1).mean())  # 3 bytes
    assert f3 > fps_baseline(te, 3)["f@0.1"] + 0.05  # one 8-bit point per shape
