"""MAGVIT demo: a 3-D conv VQ tokenizer (causal in time) vs a per-frame 2-D VQ at equal bits.

Claim (Yu et al. 2023; causal variant Yu et al. 2024): tokens that summarise space-time blocks use
the temporal redundancy of video, so at the same bit budget they reconstruct better than per-frame
image tokens; made causal, frame t's tokens never depend on later frames and the first frame is
encoded alone (an image is a one-frame video).
Arms (same data, steps, width, loss): causal 3-D VQ (T/4, H/4: 3×4×4 tokens × 8 bits) — non-causal
3-D VQ (same grid) — per-frame 2-D VQ (9 frames × 2×2 tokens × log2 1625 = 10.67 bits): all 384
bits per clip.
"""

from __future__ import annotations

from pathlib import Path

import torch

from tokensmith.neural.data import moving_sprites
from tokensmith.neural.demos._harness import fmt, markdown_table, plot_images, plot_lines, progress, run_arms
from tokensmith.neural.recipes import magvit as M

FRAMES, SIZE = 9, 16


def arms() -> dict:
    return {
        "causal 3-D VQ (MAGVIT-v2 style)": M.MagvitConfig(frames=FRAMES, size=SIZE),
        "non-causal 3-D VQ (MAGVIT)": M.MagvitConfig(frames=FRAMES, size=SIZE, causal=False),
        "per-frame 2-D VQ": M.MagvitConfig(frames=FRAMES, size=SIZE, channels=(16, 32, 32), time_strides=(1, 1, 1),
                                           space_strides=(2, 2, 2), kernel_t=1, codebook_size=1625),
    }


def run(out: Path, *, quick: bool, seeds: int, device: str, steps: int | None = None, log=progress) -> dict:
    steps = steps or (70 if quick else 180)
    xtr, _ = moving_sprites(256 if quick else 512, frames=FRAMES, size=SIZE, seed=1000)
    xte, _ = moving_sprites(128, frames=FRAMES, size=SIZE, seed=2000)
    examples = {}

    def trial(label, cfg, s):
        model, info = M.train(cfg, xtr, steps=steps, seed=s, device=device)
        ev = M.evaluate(model, xte)
        ev.update(M.causality_check(model, xte[:32]))
        row = {k: v for k, v in ev.items() if k != "psnr_per_frame"}
        row["psnr_frame"] = {str(t): v for t, v in enumerate(ev["psnr_per_frame"])}
        row["train_seconds"] = info["seconds"]
        if s == 0:
            with torch.no_grad():
                examples[label] = model(torch.as_tensor(xte[:1], device=next(model.parameters()).device))[0].clamp(0, 1)[0, :, 0].cpu().numpy()
        return row

    res = run_arms(arms(), trial, seeds=seeds, log=log, arm_info=lambda label, cfg: {
        "config": M.C.config_dict(cfg), "tokens": cfg.tokens, "bits": cfg.bits})
    names = list(res)
    rows = [[a, res[a]["tokens"], f"{res[a]['bits']:.0f}", fmt(res[a]["agg"]["psnr"]),
             fmt(res[a]["agg"]["temporal_diff_mse"], 4), fmt(res[a]["agg"]["past_tokens_changed"], 3),
             fmt(res[a]["agg"]["codes_used"], 0)] for a in names]
    table = markdown_table(["arm", "tokens/clip", "bits/clip", "test PSNR dB", "temporal-diff MSE",
                            "past tokens changed when future frames change", "codes used"], rows)
    c = res[names[0]]["agg"]
    if "first_frame_alone_matches" in c:
        table += (f"\n\nCausal arm: first frame encoded alone as an image gives the video's first-frame tokens in "
                  f"{100 * c['first_frame_alone_matches']['mean']:.1f}% of positions; image PSNR "
                  f"{fmt(c['image_psnr_first_frame'])} dB.")
    ts = list(range(FRAMES))
    plot_lines(out / "psnr_per_frame.png", {a: (ts, [res[a]["agg"]["psnr_frame"][str(t)] for t in ts]) for a in names},
               xlabel="frame t", ylabel="test PSNR (dB)",
               title=f"MAGVIT 3-D vs 2-D VQ at 384 bits/clip, sprites {FRAMES}×{SIZE}², {seeds} seed(s)")
    plot_images(out / "reconstructions.png", {"input": xte[0, :, 0], **{a.split(" (")[0]: v for a, v in examples.items()}},
                title="test clip (seed 0), frames 0..8")
    gain = res[names[0]]["agg"]["psnr"]["mean"] - res[names[2]]["agg"]["psnr"]["mean"]
    causal_ok = res[names[0]]["agg"]["past_tokens_changed"]["mean"] == 0.0
    return {
        "system": "MAGVIT",
        "claim": "3-D (space-time) VQ tokens beat per-frame 2-D tokens at equal bits; causal padding makes "
                 "past tokens independent of future frames and lets the first frame be encoded alone",
        "setup": {"data": f"moving sprites {FRAMES}x{SIZE}x{SIZE}, {len(xtr)} train / {len(xte)} test clips",
                  "steps": steps, "batch": 16, "loss": "pixel MSE + VQ (no GAN/perceptual)",
                  "quantizer": "VQ, l2-normalised 8-d codes, k-means init"},
        "arms": res,
        "table_md": table,
        "headline": {"psnr_gain_3d_causal_vs_2d_db": gain, "causal_past_tokens_changed": res[names[0]]["agg"]["past_tokens_changed"]["mean"]},
        "verdict": ("demonstrated" if gain > 0 and causal_ok else "not shown")
                   + f": causal 3-D {gain:+.2f} dB vs per-frame 2-D at equal bits; causality "
                   + ("holds" if causal_ok else "violated"),
        "notes": ["FVD needs I3D weights: not reported.", "16x16 frames and a few hundred steps: absolute PSNR is low; "
                  "only the relative ordering is the claim."],
    }
