"""Every system of docs/neural (the catalogue of neural tokenizers): tier, status, recipe, demo.

Tier (docs/neural.md C.1): 1 = mechanism fully demonstrable on CPU; 2 = only a proxy of the
mechanism; 3 = the claim rests on pretrained foundation models or huge data.
Status (what this repository actually shows):
  demonstrated           a CPU demo trains the mechanism and its baseline/ablation over ≥ 3 seeds and the
                         relative claim holds (see docs/neural/<system>.md)
  mechanism only         the mechanism is implemented (recipe and/or blocks, tests), the paper's claim is not shown
  not reproducible here  needs weights, data or compute we cannot get; nothing beyond blocks / a weight loader
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tokensmith.errors import ConfigError

DEMONSTRATED, MECHANISM, NOT_REPRODUCIBLE = "demonstrated", "mechanism only", "not reproducible here"


@dataclass(frozen=True)
class System:
    name: str
    """Name as in the catalogue."""
    number: int
    """Row number in docs/neural A."""
    modality: str
    """image | video | audio | 3d/4d | pose | spatio-temporal | world model | chunking | text."""
    tier: int
    """1, 2 or 3 (docs/neural C.1)."""
    status: str
    """demonstrated | mechanism only | not reproducible here."""
    recipe: Optional[str]
    """Module under tokensmith.neural.recipes, or None."""
    demo: Optional[str]
    """Module under tokensmith.neural.demos run by `tokensmith neural demo`, or None."""
    why: str
    """One line: what is shown, or why not."""


_S = System
SYSTEMS: tuple[System, ...] = (
    _S("TiTok", 1, "image", 1, MECHANISM, "titok", "titok",
       "1-D vs 2-D grid at equal bits (3 seeds, 1,000 steps, same warm-up/restart/schedule for both; 1-D K=16 no longer "
       "collapses): tie at 32 bits (digits 18.66 ± 0.14 vs 18.67 ± 0.04 dB; shapes 16x16 16.68 vs 16.78), grid wins at "
       "128 bits (digits 19.27 vs 24.83, shapes 17.30 vs 19.74; a 4x larger model: still -4.2 dB); claim not shown; "
       "rFID/gFID need ImageNet + MaskGIT"),
    _S("TA-TiTok", 2, "image", 2, MECHANISM, "titok", None,
       "text-aware decoding needs CLIP text embeddings; the TiTok skeleton is shared, no conditioning demo"),
    _S("One-D-Piece", 3, "image", 1, DEMONSTRATED, "one_d_piece", "one_d_piece",
       "tail drop beats no drop on short prefixes (+2.7 dB at 1 token, 3 seeds); at this budget it costs 2.4 dB "
       "at full length, so the paper's near-lossless full quality is not shown"),
    _S("FlexTok", 4, "image", 1, DEMONSTRATED, "flextok", "flextok",
       "nested dropout orders the tokens (3 seeds, digits, K=16 FSQ): the first token gives 14.55 ± 0.16 dB vs "
       "7.55 ± 1.46 without nested dropout (+7.0 dB, every seed; +7.0 at 4 tokens), at -3.6 dB full length; causal vs "
       "bidirectional registers: no difference; the rectified-flow decoder (plausible images at 1 token) is Tier 3"),
    _S("SoftVQ-VAE", 5, "image", 1, DEMONSTRATED, "softvq", "softvq",
       "soft vs hard VQ at 8 tokens, same codebook (3 seeds, 800 steps): 21.77 ± 0.30 dB vs 18.51 ± 0.15 (+3.3 dB; +3.1 vs "
       "hard VQ with dead-code restart), 0.5% vs 19% dead codes; the soft token is continuous (argmax view 17.54 dB), "
       "'more stable training' not shown (grad-norm std 0.64 vs 0.49); DINOv2 init/REPA not used"),
    _S("ImageFolder", 6, "image", 1, MECHANISM, "imagefolder", "imagefolder",
       "run (3 seeds, digits 16x16, 168 bits; re-run after the seeding fix): 2 product branches use all codes vs "
       "16-36% for 1 branch; without the class loss they gain +1.47 dB in every seed, but ImageFolder only +0.04 dB "
       "(1/3 seeds); branch 0 probes 0.957 vs 0.934 (the run's rule says partly shown), yet the gap is larger without "
       "the class loss (0.917 vs 0.870), so no class-driven semantic/detail split; no DINOv2 teacher, no VAR/gFID"),
    _S("Layton", 7, "image", 3, NOT_REPRODUCIBLE, None, None,
       "decoder is a pretrained LDM distilled to a consistency model at 1024²; no code obtainable"),
    _S("DC-AR / DC-HT", 8, "image", 2, MECHANISM, "dc_ht", None,
       "grid VQ + continuous residual tokens recipe; DC-AE backbone and T2I training out of reach"),
    _S("UniFlow", 9, "image", 3, NOT_REPRODUCIBLE, None, None,
       "layer-wise self-distillation from a pretrained InternViT/SigLIP; no weights downloadable"),
    _S("VFM-VAE", 10, "image", 3, NOT_REPRODUCIBLE, None, None, "frozen SigLIP2-L encoder required"),
    _S("VFMTok", 11, "image", 3, NOT_REPRODUCIBLE, None, None, "frozen DINOv2 multi-level features required"),
    _S("TA-Tok (Tar)", 12, "image", 3, NOT_REPRODUCIBLE, None, None,
       "SigLIP2 encoder + codebook initialised from an LLM vocabulary; both pretrained"),
    _S("ILLUME", 13, "image", 3, NOT_REPRODUCIBLE, None, None, "semantic encoder pretrained; code not public"),
    _S("OneCAT", 14, "image", 3, NOT_REPRODUCIBLE, None, None, "the tokenizer is an MoE inside a pretrained LLM"),
    _S("FAR", 15, "image", 2, NOT_REPRODUCIBLE, None, None,
       "frequency-ordered AR with a diffusion head on KL-16 latents; no recipe here yet"),
    _S("PixelRefer (SAOT)", 16, "image", 1, DEMONSTRATED, "pixelrefer", "pixelrefer",
       "scale-adaptive crop + masked k-means vs fixed-grid masked k-means on synthetic 4-part objects (3 seeds): objects "
       "< 50 px get 8.0 vs 1.4 tokens and 0.825 ± 0.004 vs 0.010 part recall; equal on large objects; raw-pixel "
       "features, not a vision encoder; the MLLM half and region benchmarks are Tier 3"),
    _S("ALTo", 17, "image", 1, MECHANISM, "alto", "alto",
       "run (3 seeds, 32x32 ellipse/star masks, K=16, λ=0.02, 1500 steps; re-run after the seeding fix): 4.4 ± 0.8 of "
       "16 tokens, IoU 0.678 ± 0.008 vs 0.682 ± 0.010 for a fixed length at the same mean; length does not track "
       "complexity (Spearman with contour 0.05 ± 0.18, stars get fewer tokens than ellipses); SAM encoder, SA-1B and "
       "the MLLM + GRPO half are Tier 3"),
    _S("DehazeXL", 18, "image", 2, NOT_REPRODUCIBLE, None, None, "8K images and 931 GB training data"),
    _S("μ²Tokenizer", 19, "image", 2, NOT_REPRODUCIBLE, None, None,
       "soft top-k is a block (pruning.soft_topk); CT-RATE data + LLM + DPO out of reach"),
    _S("MAGVIT", 20, "video", 1, DEMONSTRATED, "magvit", "magvit",
       "causal 3-D VQ beats per-frame 2-D VQ at equal bits on moving sprites (+1.8 dB, 3 seeds) and past tokens "
       "ignore future frames; 3-D GAN, 2-D→3-D inflation and FVD need pretrained nets"),
    _S("HiTVideo", 21, "video", 2, MECHANISM, "hitvideo", None,
       "two-layer (coarse/fine) video codebooks on sprites, bpp accounting; no official code"),
    _S("E-ViLM", 22, "video", 2, NOT_REPRODUCIBLE, None, None, "needs a pretrained semantic VQ tokenizer and video-text data"),
    _S("Cont-SPT", 23, "audio", 2, NOT_REPRODUCIBLE, None, None, "README-only release; TTS LM at scale"),
    _S("TaDiCodec", 24, "audio", 2, MECHANISM, "tadicodec", None,
       "6.25 Hz BSQ tokens with/without text conditioning on synthetic vowels; diffusion decoder replaced by MSE"),
    _S("LongCat-Audio-Codec", 25, "audio", 2, MECHANISM, "longcat", None,
       "semantic level + grouped RVQ acoustic levels, bitrate accounting; pretrained semantic encoder absent"),
    _S("VibeVoice", 26, "audio", 1, DEMONSTRATED, "vibevoice", "vibevoice",
       "σ-VAE latents: equal reconstruction to AE/KL-VAE and half the decoder penalty under latent noise (3 seeds); "
       "better AR-generated audio not shown; the LM + diffusion head is Tier 3"),
    _S("InspireMusic", 27, "audio", 3, NOT_REPRODUCIBLE, None, None, "WavTokenizer + Qwen2.5 LM + flow SR, all pretrained"),
    _S("VAT", 28, "3d/4d", 1, MECHANISM, "vat", "vat",
       "partly shown (3 seeds, re-run after the seeding fix): tokens beat equal-byte point storage by far (F@0.1 0.25 "
       "vs ≤ 0.12), but a rate-quality curve across scale prefixes is not shown (front-loading: 0.249 → 0.251 from 1 "
       "to 15 bytes); Objaverse F-score@0.01 out of reach"),
    _S("I²-World", 29, "3d/4d", 1, MECHANISM, "i2world", "i2world",
       "the run records demonstrated (3 seeds, re-run after the seeding fix): mIoU 0.491 with the inter-scene step vs "
       "0.430 with a plain extra step at equal tokens (0.362 intra only), but it wins in 2 of 3 seeds only and the "
       "decoder also sees the history as side information; Occ3D mIoU/forecasting out of reach"),
    _S("HoT", 30, "pose", 1, DEMONSTRATED, "hot", "hot",
       "prune 81→27 frames + recovering attention: 43% fewer FLOPs at no worse MPJPE (3 seeds, early in training); "
       "DPC-kNN ties uniform sampling on this smooth synthetic motion"),
    _S("STD-PLM", 31, "spatio-temporal", 2, MECHANISM, "std_plm", None,
       "sandglass attention N→N′→N on graph diffusion; a small Transformer stands in for the PLM"),
    _S("TWM nearest-neighbour tokenizer", 32, "world model", 1, DEMONSTRATED, "twm", "twm",
       "training-free NNT vs learned VQ on grid-world frames: ids never change (vs 15-97% per checkpoint), exact "
       "reconstruction; Craftax reward not attempted"),
    _S("H-Net", 33, "chunking", 1, DEMONSTRATED, "hnet", "hnet",
       "unsupervised chunk boundaries match word/separator starts (F1 0.59 ± 0.19 vs 0.33 fixed stride / 0.34 random, "
       "3 seeds); the BPB gain (1.26 vs 1.63) is not compute-matched (1.3x more chunks)"),
    _S("Toucan", 34, "text", 3, NOT_REPRODUCIBLE, None, None, "no code found; text LM at scale"),
    _S("Learn Your Tokens", 35, "text", 3, NOT_REPRODUCIBLE, None, None, "no code found; text LM at scale"),
)

_BY_KEY = {s.name.lower(): s for s in SYSTEMS}
_ALIASES = {"one-d-piece": "One-D-Piece", "onedpiece": "One-D-Piece", "one_d_piece": "One-D-Piece",
            "softvq": "SoftVQ-VAE", "twm": "TWM nearest-neighbour tokenizer", "nnt": "TWM nearest-neighbour tokenizer",
            "hnet": "H-Net", "h-net": "H-Net", "dc-ht": "DC-AR / DC-HT", "dc-ar": "DC-AR / DC-HT",
            "dc_ht": "DC-AR / DC-HT", "i2world": "I²-World", "i2-world": "I²-World", "pixelrefer": "PixelRefer (SAOT)",
            "saot": "PixelRefer (SAOT)", "tar": "TA-Tok (Tar)", "ta-tok": "TA-Tok (Tar)", "longcat": "LongCat-Audio-Codec",
            "u2tokenizer": "μ²Tokenizer", "std_plm": "STD-PLM", "hitvideo": "HiTVideo", "magvit": "MAGVIT",
            "vibevoice": "VibeVoice", "tadicodec": "TaDiCodec", "alto": "ALTo", "vat": "VAT", "hot": "HoT",
            "imagefolder": "ImageFolder", "flextok": "FlexTok", "titok": "TiTok"}


def get(name: str) -> System:
    """Look a system up by catalogue name, recipe/demo module name or alias (case-insensitive)."""
    key = name.strip().lower()
    if key in _BY_KEY:
        return _BY_KEY[key]
    if key in _ALIASES:
        return _BY_KEY[_ALIASES[key].lower()]
    for s in SYSTEMS:
        if key in ((s.recipe or "").lower(), (s.demo or "").lower()):
            return s
    known = ", ".join(sorted({s.demo for s in SYSTEMS if s.demo}))
    raise ConfigError(f"unknown neural system {name!r}; demos: {known}; `tokensmith neural list` shows all")


def demos() -> list[System]:
    return [s for s in SYSTEMS if s.demo]
