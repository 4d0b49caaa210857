"""Side check for docs/neural/titok.md: does a larger model close the 128-bit gap? Digits 8x8, 16 tokens,
width 64, 2+2 layers, otherwise the demo's settings (1,000 steps, lr 3e-3, warm-up 333, dead-code 0.5)."""
import json, sys, time, torch
torch.set_num_threads(1)
from tokensmith.neural.demos import _image_tokens as IT
from tokensmith.neural.demos._harness import aggregate, fmt
from tokensmith.neural.recipes import titok as T

xtr, ytr, xte, yte = IT.load_digits()
base = dict(quantizer="vq", codebook_size=256, token_dim=8, width=64, enc_depth=2, dec_depth=2, dead_code=0.5)
arms = {"2-D grid, 16 tokens (2x2 patches)": dict(layout="grid", patch_size=2),
        "1-D, K=16, 4x4 patches": dict(num_tokens=16, patch_size=4),
        "1-D, K=16, 2x2 patches": dict(num_tokens=16, patch_size=2)}
rows = {a: [] for a in arms}
for s in range(3):
    for a, kw in arms.items():
        t0 = time.time()
        cfg = T.TiTokConfig(**base, **kw)
        m, info = T.train(cfg, xtr, T.TrainConfig(steps=1000, lr=3e-3, quant_warmup=333, seed=s))
        ev = T.evaluate(m, xte, [16])
        rows[a].append({"psnr": ev["psnr"][16], "codes_used": float(ev["usage"]["codes_used"])})
        print(f"[{a}] seed {s}: {ev['psnr'][16]:.2f} dB, codes {ev['usage']['codes_used']} ({time.time()-t0:.0f}s)", flush=True)
        json.dump(rows, open(sys.argv[1] if len(sys.argv) > 1 else "titok_capacity.json", "w"), indent=1)
for a, r in rows.items():
    g = aggregate(r)
    print(f"| {a} | {fmt(g['psnr'])} | {fmt(g['codes_used'], 0)} |")
