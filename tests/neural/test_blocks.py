"""Property and shape tests for the non-quantizer blocks (tiny tensors, one thread)."""

import math

import pytest
import torch

torch.set_num_threads(1)

import tokensmith.neural as N  # noqa: E402
from tokensmith.errors import ConfigError  # noqa: E402
from tokensmith.neural import losses  # noqa: E402


# --- resamplers ---------------------------------------------------------------------------------------
def test_latent_query_encoder_and_decoder_shapes(tmp_path):
    torch.manual_seed(0)
    enc = N.LatentQueryEncoder(16, 4, depth=1, heads=2, out_dim=6, max_inputs=9)
    dec = N.MaskTokenDecoder(6, 16, n_latents=4, n_out=9, out_dim=5, depth=1, heads=2, context_dim=3)
    x = torch.randn(2, 9, 16)
    z = enc(x)
    assert z.shape == (2, 4, 6)
    for k in (1, 2, 4):  # variable-length latents (tail drop)
        assert dec(z[:, :k]).shape == (2, 9, 5)
    assert dec(z, keep=torch.ones(2, 4), context=torch.randn(2, 3, 3)).shape == (2, 9, 5)
    with pytest.raises(ConfigError):
        dec(torch.randn(2, 5, 6))
    N.save(enc, tmp_path / "enc")
    enc2 = N.load(tmp_path / "enc")
    torch.testing.assert_close(enc.eval()(x), enc2.eval()(x))


def test_causal_latent_queries_prefix_ignores_later_queries():
    torch.manual_seed(0)
    enc = N.LatentQueryEncoder(8, 5, depth=2, heads=2, causal=True).eval()
    x = torch.randn(1, 6, 8)
    base = enc(x)
    with torch.no_grad():
        enc.queries[3:] += torch.randn(2, 8)  # change later queries only
    changed = enc(x)
    torch.testing.assert_close(base[:, :3], changed[:, :3])
    assert not torch.allclose(base[:, 3:], changed[:, 3:])
    # non-causal: every output depends on every query
    enc_full = N.LatentQueryEncoder(8, 5, depth=2, heads=2).eval()
    a = enc_full(x)
    with torch.no_grad():
        enc_full.queries[4] += torch.randn(8)
    assert not torch.allclose(a[:, 0], enc_full(x)[:, 0])


def test_transformer_causal_mask():
    torch.manual_seed(0)
    t = N.TransformerStack(8, 2, heads=2, causal=True).eval()
    x = torch.randn(1, 5, 8)
    y = t(x)
    x2 = x.clone()
    x2[:, 3:] += 1
    torch.testing.assert_close(t(x2)[:, :3], y[:, :3])


# --- length -------------------------------------------------------------------------------------------
def test_tail_token_drop():
    drop = N.TailTokenDrop(8, weights=[0] * 7 + [1])
    x = torch.randn(2, 8, 3)
    y, k = drop.train()(x)
    assert k == 8 and y.shape == (2, 8, 3)
    drop = N.TailTokenDrop(8)
    ks = {drop.train()(x)[1] for _ in range(200)}
    assert ks == set(range(1, 9))
    y, k = drop.eval()(x)
    assert k == 8
    y, k = drop(x, k=3)
    assert torch.equal(y, x[:, :3])


@pytest.mark.parametrize("mode,allowed", [("uniform", set(range(1, 9))), ("pow2", {1, 2, 4, 8}),
                                          ("uniform_pow2", {1, 2, 4, 8})])
def test_nested_dropout(mode, allowed):
    torch.manual_seed(0)
    nd = N.NestedDropout(4, 8, mode=mode).train()
    x = torch.randn(64, 8, 4)
    y, keep = nd(x)
    assert set(keep.tolist()) == allowed
    for i in range(64):
        k = int(keep[i])
        assert torch.equal(y[i, :k], x[i, :k])
        assert torch.equal(y[i, k:], nd.mask_token.detach().expand(8 - k, 4))
    y, keep = nd.eval()(x)
    assert torch.equal(y, x)
    with pytest.raises(ConfigError):
        N.NestedDropout(4, 8, mode="bogus")


def test_pow2_sampling_favours_short_prefixes():
    torch.manual_seed(0)
    k_pow2 = N.NestedDropout(2, 64, mode="pow2").sample_keep(4000)
    k_unif = N.NestedDropout(2, 64, mode="uniform").sample_keep(4000)
    assert (k_pow2 <= 4).float().mean() > 0.4 > (k_unif <= 4).float().mean()


def test_alto_keep_mask_and_gradient():
    torch.manual_seed(0)
    pred = N.AdaptiveLengthPredictor(8, 6)
    cls, lat = torch.randn(3, 8), torch.randn(3, 6, 8)
    out = pred(cls, lat)
    assert out.keep_mask.shape == (3, 6)
    for i in range(3):
        n = int(out.lengths[i])
        assert 1 <= n <= 6
        torch.testing.assert_close(out.keep_mask[i].detach(), (torch.arange(6) < n).float())
    ell = out.expected_length.detach()
    assert 0 <= float(ell.min()) and float(ell.max()) <= 5 / 6
    (out.keep_mask.sum() + out.length_loss).backward()
    assert pred.w3.weight.grad is not None and pred.w3.weight.grad.abs().sum() > 0


def test_alto_hard_length_matches_expectation():
    attn = torch.tensor([[0.0, 0.0, 1.0, 0.0]])  # all mass on position 2 -> ℓ = 2/4, L̂ = 2 -> keep 3
    from tokensmith.neural.length import differentiable_keep_mask

    mask = differentiable_keep_mask(attn, torch.tensor([2]))
    assert mask.tolist() == [[1.0, 1.0, 1.0, 0.0]]


# --- pruning ------------------------------------------------------------------------------------------
def test_dpc_knn_picks_planted_cluster_centres():
    torch.manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    pts = []
    for c in centres:  # a tight core point at the centre plus a ring of looser points
        pts.append(c[None])
        pts.append(c + 0.3 * torch.randn(6, 2))
    x = torch.cat(pts)[torch.randperm(21)][None]
    # density with k = 4 neighbours: the centre point of each blob is the densest in its blob
    idx, cluster = N.dpc_knn(x, 3, k=4)
    picked = x[0, idx[0]]
    d = torch.cdist(picked, centres).min(0).values
    assert (d < 0.5).all(), picked  # one pick per planted cluster
    assert torch.equal(idx[0], idx[0].sort().values)
    # every token joins the cluster of its own blob
    blob = torch.cdist(x[0], centres).argmin(-1)
    for c in range(3):
        assert cluster[0][blob == c].unique().numel() == 1


def test_token_pruning_cluster_and_recovery():
    torch.manual_seed(0)
    x = torch.randn(2, 12, 5, 8)  # (B, T frames, joints, C)
    tpc = N.TokenPruningCluster(4, dim=8)
    kept, idx = tpc(x)
    assert kept.shape == (2, 4, 5, 8) and idx.shape == (2, 4)
    torch.testing.assert_close(kept[1, 2], x[1, idx[1, 2]] + tpc.pos[2])
    tra = N.TokenRecoveringAttention(8, 12, heads=2)
    out = tra(kept[:, :, 0])
    assert out.shape == (2, 12, 8)


def test_masked_kmeans_pool():
    torch.manual_seed(0)
    feats = torch.cat([torch.zeros(5, 2), torch.ones(5, 2) * 4, torch.randn(6, 2) + 100])[None]
    mask = torch.tensor([[True] * 10 + [False] * 6])
    tokens, valid = N.masked_kmeans_pool(feats, mask, 2)
    assert valid.all()
    assert sorted(tokens[0, :, 0].tolist()) == [0.0, 4.0]  # padding region excluded
    tokens, valid = N.masked_kmeans_pool(feats, mask, 16)  # fewer points than tokens
    assert int(valid.sum()) == 10


def test_soft_topk_tends_to_hard_topk():
    torch.manual_seed(0)
    scores = torch.randn(2, 10)
    x = torch.randn(2, 10, 3)
    tok, w = N.soft_topk(scores, x, 3, tau=1e-3)
    top = scores.topk(3, -1).indices
    torch.testing.assert_close(tok, torch.gather(x, 1, top[..., None].expand(-1, -1, 3)), atol=1e-4, rtol=0)
    assert w.shape == (2, 3, 10)
    tok_soft, w_soft = N.soft_topk(scores, x, 3, tau=1.0)
    assert w_soft.max() < 0.99  # genuinely soft at high temperature
    m = N.SoftTopK(3, 2)
    y = m(x)
    y.sum().backward()
    assert m.score.weight.grad.abs().sum() > 0


def test_sandglass_attention():
    torch.manual_seed(0)
    sg = N.SandglassAttention(8, n_nodes=6, n_regions=2, heads=2)
    x = torch.randn(3, 6, 8)
    restored, regions, attn = sg(x)
    assert restored.shape == (3, 6, 8) and regions.shape == (3, 2, 8) and attn.shape == (3, 2, 6)
    torch.testing.assert_close(attn.sum(-1), torch.ones(3, 2))
    adj = torch.zeros(6, 6)
    adj[:3, :3] = 1
    adj[3:, 3:] = 1
    good = torch.tensor([[1.0, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]])[None] / 3
    bad = torch.tensor([[1.0, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1]])[None] / 3
    assert sg.constraint_loss(good, adj) < sg.constraint_loss(bad, adj)


# --- conv ---------------------------------------------------------------------------------------------
def test_causal_conv3d_ignores_future_frames():
    torch.manual_seed(0)
    stack = N.CausalConv3dStack(2, [4, 4], time_strides=[2, 2], space_strides=[2, 1]).eval()
    x = torch.randn(1, 2, 9, 8, 8)
    y = stack(x)
    assert y.shape == (1, 4, 3, 4, 4)  # T' = 1 + (9-1)/4
    for t in range(1, 9):
        x2 = x.clone()
        x2[:, :, t:] = torch.randn_like(x2[:, :, t:])
        y2 = stack(x2)
        # output frame j sees inputs up to 4j (stride product): frames j with 4j < t are unchanged
        for j in range(3):
            same = torch.allclose(y[:, :, j], y2[:, :, j])
            assert same == (4 * j < t), (t, j)
    # an image (T = 1) is a valid input: first frame encoded alone
    assert stack(x[:, :, :1]).shape == (1, 4, 1, 4, 4)


def test_inflate_conv2d_reproduces_2d_on_static_video():
    torch.manual_seed(0)
    c2 = torch.nn.Conv2d(2, 3, 3, padding=1)
    c3 = N.CausalConv3d(2, 3, 3)
    with torch.no_grad():
        c3.conv.weight.copy_(N.inflate_conv2d(c2.weight, 3, mode="last"))
        c3.conv.bias.copy_(c2.bias)
    img = torch.randn(1, 2, 5, 5)
    vid = img[:, :, None].expand(-1, -1, 4, -1, -1)
    out = c3(vid)
    for t in range(4):
        torch.testing.assert_close(out[:, :, t], c2(img), atol=1e-5, rtol=1e-5)
    w = N.inflate_conv2d(c2.weight, 3)
    assert torch.equal(w[:, :, 1], c2.weight) and w[:, :, 0].abs().sum() == 0


def test_causal_conv1d_stack_is_causal_and_strided():
    torch.manual_seed(0)
    stack = N.CausalConv1dStack(1, [4, 8], [2, 4], residual_blocks=True).eval()
    assert stack.hop_length == 8
    x = torch.randn(1, 1, 64)
    y = stack(x)
    assert y.shape == (1, 8, 8)
    assert stack(torch.randn(1, 1, 61)).shape == (1, 8, 8)  # ceil(61/8)
    for t in (5, 16, 33, 63):
        x2 = x.clone()
        x2[..., t:] += torch.randn_like(x2[..., t:])
        y2 = stack(x2)
        # frame j covers samples < 8(j+1): frames whose window ends at or before t are unchanged
        n_safe = t // 8
        torch.testing.assert_close(y2[..., :n_safe], y[..., :n_safe])
        assert not torch.allclose(y2[..., n_safe], y[..., n_safe])


# --- chunking -----------------------------------------------------------------------------------------
def test_routing_probabilities():
    r = N.RoutingModule(3)
    x = torch.tensor([[[1.0, 0, 0], [1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0]]])
    p, b = r(x)
    torch.testing.assert_close(p, torch.tensor([[1.0, 0.0, 1.0, 0.5]]))
    assert b.tolist() == [[True, False, True, False]]  # p = 0.5 is not a boundary (argmax tie)


def test_dynamic_chunking_round_trip():
    torch.manual_seed(0)
    dc = N.DynamicChunking(4, target_ratio=2)
    x = torch.randn(2, 7, 4, requires_grad=True)
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[1, 5:] = False
    state = dc.chunk(x, mask)
    n = state.boundaries.sum(1)
    assert state.chunks.shape[1] == int(n.max()) and torch.equal(state.chunk_mask.sum(1), n)
    first = state.boundaries.float().argmax(1)
    assert (first == 0).all()  # p_1 = 1: the first position is always a boundary
    y = dc.dechunk(state.chunks * 2, state)
    assert y.shape == x.shape and (y[1, 5:] == 0).all()
    # forward value: the boundary positions carry the EMA output; STE factor is 1
    p0 = state.probs[0][state.boundaries[0]].clamp(1e-4, 1 - 1e-4)
    z = state.chunks[0, : len(p0)] * 2
    ema = []
    prev = torch.zeros(4)
    for i in range(len(p0)):
        prev = p0[i] * z[i] + (1 - p0[i]) * prev
        ema.append(prev)
    pos = state.boundaries[0].nonzero().squeeze(-1)
    torch.testing.assert_close(y[0, pos].detach(), torch.stack(ema).detach())
    (y.sum() + dc.ratio_loss(state)).backward()
    assert dc.router.q_proj.weight.grad is not None and dc.router.q_proj.weight.grad.abs().sum() > 0


def test_dechunk_ste_confidence_is_one_forward():
    dc = N.DynamicChunking(2)
    x = torch.tensor([[[1.0, 0], [-0.6, 0.8], [-0.6, 0.8]]])  # boundaries at 0, 1; 2 continues chunk 1
    st = dc.chunk(x)
    assert st.boundaries.tolist() == [[True, True, False]]
    y = dc.dechunk(st.chunks, st)
    # chunk 0: p = 1 -> clamped 1-1e-4; chunk 1: p = (1 + 0.6)/2 = 0.8 -> z̄ = .8 z1 + .2 z̄0
    z0 = (1 - 1e-4) * x[0, 0]
    z1 = 0.8 * x[0, 1] + 0.2 * z0
    torch.testing.assert_close(y[0], torch.stack([z0, z1, z1]))


@pytest.mark.parametrize("n", [2, 4, 6])
def test_ratio_loss_minimal_at_one_over_n(n):
    grid = torch.linspace(0.01, 0.99, 99)
    vals = []
    for f in grid:
        b = torch.zeros(1000)
        b[: int(round(float(f) * 1000))] = 1
        p = torch.full((1000,), float(f))
        vals.append(float(N.ratio_loss(b, p, n)))
    best = float(grid[int(torch.tensor(vals).argmin())])
    assert abs(best - 1 / n) <= 0.011
    assert abs(min(vals) - 1.0) < 1e-3
    with pytest.raises(ConfigError):
        N.ratio_loss(torch.ones(3), torch.ones(3), 1)


# --- losses -------------------------------------------------------------------------------------------
def test_psnr_and_ssim():
    x = torch.rand(2, 1, 8, 8)
    assert float(losses.psnr(x, x)) > 100
    noisy = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    p = float(losses.psnr(x, noisy))
    assert 15 < p < 30
    torch.testing.assert_close(losses.psnr(torch.zeros(4), torch.full((4,), 0.1)), torch.tensor(20.0))
    assert abs(float(losses.ssim(x, x)) - 1) < 1e-5
    assert float(losses.ssim(x, noisy)) < float(losses.ssim(x, (x + 0.01 * torch.randn_like(x)).clamp(0, 1)))


def test_rate_and_usage_metrics():
    assert losses.bits_per_token(4096) == 12
    assert losses.bitrate(6.25, 2**14) == 87.5
    assert losses.bits_per_pixel(32, 4096, 256 * 256) == 32 * 12 / 65536
    assert losses.compression_ratio(256 * 256 * 24, 32, 4096) == 256 * 256 * 24 / 384
    used, ppl = losses.codebook_usage(torch.tensor([0, 1, 2, 3, -1]), 8)
    assert used == 4 and abs(ppl - 4) < 1e-9


def test_task_metrics():
    pred = torch.tensor([1, 0, 1, 1, 0], dtype=torch.bool)
    true = torch.tensor([1, 0, 0, 1, 1], dtype=torch.bool)
    p, r, f = losses.boundary_prf(pred, true)
    assert (p, r) == (2 / 3, 2 / 3) and abs(f - 2 / 3) < 1e-9
    assert float(losses.iou(pred, true)) == 0.5
    assert float(losses.miou(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), 2)) == pytest.approx(0.5)
    a = torch.rand(20, 3)
    assert float(losses.chamfer_distance(a, a)) == 0 and float(losses.fscore(a, a)) == 1
    assert float(losses.mpjpe(torch.zeros(2, 17, 3), torch.ones(2, 17, 3))) == pytest.approx(math.sqrt(3))
    assert float(losses.kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3))) == 0


def test_gan_helpers():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert float(losses.hinge_d_loss(real, fake)) == pytest.approx(0.5 * (0.25 + 0.5))
    w = torch.nn.Parameter(torch.ones(3))
    lam = losses.adaptive_weight((w * 2).sum(), (w * 4).sum(), w)
    assert float(lam) == pytest.approx(0.5, rel=1e-3)


# --- devices and autocast -------------------------------------------------------------------------------
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_blocks_run_on_device(device):
    torch.manual_seed(0)
    quantizers = [N.VectorQuantizer(8, 16, ema=True, kmeans_init=True, threshold_dead_code=1, anchor_refresh=True),
                  N.ResidualVQ(8, 2, 16), N.FSQ([5, 5, 5], dim=8), N.LFQ(8, 64), N.BSQ(8, 64), N.SoftVQ(8, 16),
                  N.GroupedVQ(8, 2, 8), N.KLBottleneck(8), N.SigmaVAEBottleneck(8),
                  N.NearestNeighbourCodebook(8, threshold=1.0)]
    x = torch.randn(2, 6, 8, device=device)
    for q in quantizers:
        q = q.to(device).train()
        out, idx, aux = q(x.requires_grad_(True))
        assert out.device.type == device and aux.device.type == device
        (out.sum() + aux).backward()
        q.stats()
    x = x.detach()
    msr = N.MultiScaleResidualVQ(8, [1, 2], 16).to(device)
    assert msr(torch.randn(2, 2, 2, 8, device=device))[0].device.type == device
    enc = N.LatentQueryEncoder(8, 3, depth=1, heads=2, causal=True).to(device)
    dec = N.MaskTokenDecoder(8, 8, 3, 6, 4, depth=1, heads=2).to(device)
    assert dec(enc(x)).shape == (2, 6, 4)
    dc = N.DynamicChunking(8).to(device)
    st = dc.chunk(x)
    assert dc.dechunk(st.chunks, st).shape == x.shape
    assert N.NestedDropout(8, 6).to(device)(x)[0].device.type == device
    assert N.AdaptiveLengthPredictor(8, 6).to(device)(x[:, 0], x).keep_mask.device.type == device
    assert N.dpc_knn(x, 3)[0].device.type == device
    assert N.TokenRecoveringAttention(8, 10, heads=2).to(device)(x).shape == (2, 10, 8)
    assert N.SandglassAttention(8, 6, 2, heads=2).to(device)(x)[0].shape == x.shape
    assert N.masked_kmeans_pool(x, torch.ones(2, 6, dtype=torch.bool, device=device), 3)[0].device.type == device
    assert N.CausalConv1dStack(8, [4], [2]).to(device)(x.transpose(1, 2)).shape == (2, 4, 3)
    assert N.CausalConv3d(8, 4, 3, (2, 1, 1)).to(device)(x.transpose(1, 2)[..., None, None].expand(-1, -1, -1, 2, 2)).shape == (2, 4, 3, 2, 2)


def test_blocks_under_autocast():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        enc = N.LatentQueryEncoder(8, 3, depth=1, heads=2, out_dim=4)
        z = enc(x)
        q, idx, aux = N.VectorQuantizer(4, 16, use_cosine=True)(z)
        assert aux.dtype == torch.float32
        y = N.MaskTokenDecoder(4, 8, 3, 6, 5, depth=1, heads=2)(q)
        assert torch.isfinite(y.float()).all()
        dc = N.DynamicChunking(8)
        st = dc.chunk(x)
        assert st.residual.dtype == torch.float32
        assert torch.isfinite(dc.dechunk(st.chunks, st).float()).all()


def test_package_docstring_example():
    import doctest

    import tokensmith.neural

    torch.manual_seed(0)
    result = doctest.testmod(tokensmith.neural, verbose=False)
    assert result.attempted >= 6 and result.failed == 0


def _dpc_knn_reference(x, n_keep, k, noise):
    """Slow loop version of HoT's DPC-kNN; `noise` replays the tie-breaking jitter."""
    n, c = x.shape
    d = [[math.dist(x[i].tolist(), x[j].tolist()) / math.sqrt(c) for j in range(n)] for i in range(n)]
    rho = [math.exp(-sum(v * v for v in sorted(d[i])[:k]) / k) + noise[i] for i in range(n)]
    dmax = max(max(row) for row in d)
    delta = [min([d[i][j] for j in range(n) if rho[j] > rho[i]], default=dmax) for i in range(n)]
    score = [rho[i] * delta[i] for i in range(n)]
    return sorted(sorted(range(n), key=lambda i: -score[i])[:n_keep])


@pytest.mark.parametrize("seed", range(5))
def test_dpc_knn_matches_slow_reference(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 15, 3, generator=g) * torch.rand(1, 15, 1, generator=g) * 3
    # k = 2 makes mutual nearest neighbours exact density ties that only the fp32 jitter separates
    for k in (3, 4):
        torch.manual_seed(seed)
        idx, _ = N.dpc_knn(x, 4, k=k)
        torch.manual_seed(seed)
        noise = (torch.rand(1, 15) * 1e-6)[0].tolist()
        assert idx[0].tolist() == _dpc_knn_reference(x[0].double(), 4, k, noise)
