"""Training and evaluation of tiny LMs: bits per byte, tokens/s, checkpoints, DDP.

DDP: when launched under `torchrun` (WORLD_SIZE > 1 in the environment) `train_lm` joins the
process group (gloo on CPU, nccl on CUDA), wraps the model in DistributedDataParallel and gives each
rank a slice of every global batch. The loss on each rank is its summed NLL times
world_size / (tokens in the global batch), so DDP's gradient average equals the single-process
gradient of the mean over the global batch: 1 process and N processes train the same model.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.distributed as dist
from torch.nn import functional as F

from tokensmith._io import atomic_write
from tokensmith.errors import ConfigError, FormatError
from tokensmith.lm.config import LMConfig
from tokensmith.lm.data import ChunkSet
from tokensmith.lm.model import TinyGPT

LN2 = math.log(2.0)

__all__ = ["resolve_device", "make_batch", "train_lm", "evaluate_bpb", "inference_speed", "save_lm", "load_lm",
           "dist_info", "new_model"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device '{name}': use cpu, cuda, cuda:N, mps or auto") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for but no CUDA GPU is available: use device='cpu'")
    return dev


def dist_info() -> tuple[int, int]:
    """(rank, world_size); (0, 1) outside torch.distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _maybe_init_distributed(device: torch.device) -> bool:
    """Join the process group when torchrun started us; True when we created it."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available() or dist.is_initialized():
        return False
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return True


def make_batch(cs: ChunkSet, idx: Sequence[int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs `[BOS] + ids` padded with BOS, targets `ids` padded with -100 (ignored)."""
    seqs = [cs.ids[i] for i in idx]
    t = 1 + max((len(s) for s in seqs), default=0)
    x = torch.full((len(seqs), t), cs.bos_id, dtype=torch.long)
    y = torch.full((len(seqs), t), -100, dtype=torch.long)
    for r, s in enumerate(seqs):
        if s:
            ids = torch.tensor(s, dtype=torch.long)
            x[r, 1:len(s) + 1] = ids
            y[r, :len(s)] = ids
    return x.to(device), y.to(device)


def new_model(cfg: LMConfig, vocab_size: int, n_ctx: int, device: torch.device | str = "cpu") -> TinyGPT:
    torch.manual_seed(cfg.seed)
    return TinyGPT(cfg, vocab_size + 1, n_ctx).to(device)  # +1: BOS


def _lr(cfg: LMConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


@torch.no_grad()
def evaluate_bpb(model: TinyGPT, cs: ChunkSet, *, batch_size: int = 64, limit: int | None = None,
                 logits_fn: Callable | None = None) -> float:
    """Bits per byte over the chunks (the first `limit` only, if given). Sharded across DDP ranks."""
    rank, world = dist_info()
    device = next(model.parameters()).device
    n = len(cs.ids) if limit is None else min(limit, len(cs.ids))
    mine = list(range(rank, n, world))
    was_training = model.training
    model.eval()
    nll = torch.zeros((), dtype=torch.float64, device=device)
    for i in range(0, len(mine), batch_size):
        x, y = make_batch(cs, mine[i:i + batch_size], device)
        logits = logits_fn(x) if logits_fn is not None else model(x)
        nll += F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), ignore_index=-100, reduction="sum").double()
    nbytes = torch.tensor(float(sum(cs.nbytes[i] for i in mine)), dtype=torch.float64, device=device)
    if world > 1:
        dist.all_reduce(nll)
        dist.all_reduce(nbytes)
    model.train(was_training)
    return float(nll / (LN2 * nbytes)) if float(nbytes) else float("nan")


@torch.no_grad()
def inference_speed(model: TinyGPT, cs: ChunkSet, *, batch_size: int = 32, max_batches: int = 8) -> dict:
    """Forward-pass throughput on the chunks: tokens/s and bytes/s (bytes/s is comparable across tokenizers)."""
    device = next(model.parameters()).device
    model.eval()
    tokens = nbytes = 0
    idx = list(range(min(len(cs.ids), batch_size * max_batches)))
    x, _ = make_batch(cs, idx[:batch_size], device)
    model(x)  # warm-up
    start = time.perf_counter()
    for i in range(0, len(idx), batch_size):
        part = idx[i:i + batch_size]
        x, _ = make_batch(cs, part, device)
        model(x)
        tokens += sum(len(cs.ids[j]) + 1 for j in part)
        nbytes += sum(cs.nbytes[j] for j in part)
    if device.type == "cuda":
        torch.cuda.synchronize()
    secs = max(time.perf_counter() - start, 1e-9)
    return {"tokens_per_s": tokens / secs, "bytes_per_s": nbytes / secs}


def train_lm(cfg: LMConfig, train: ChunkSet, val: ChunkSet | None = None, *, model: TinyGPT | None = None,
             trainable: Callable[[str], bool] | None = None, steps: int | None = None,
             log: Callable[[dict], None] | None = None,
             loss_fn: Callable | None = None) -> tuple[TinyGPT, list[dict]]:
    """Train (or continue training) a tiny LM; return the model and its learning curve.

    `trainable(name)` limits training to some parameters (embedding-only phases); `loss_fn(model, idx)`
    replaces the standard loss, returning (summed NLL, tokens, bytes) of the chunks `idx` (zip2zip).
    """
    device = resolve_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    created_group = _maybe_init_distributed(device)
    rank, world = dist_info()
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    if not train.ids:
        raise ConfigError("no training chunks: give a larger corpus")
    n_ctx = 1 + max(train.max_len, val.max_len if val else 0)
    if model is None:
        model = new_model(cfg, train.vocab_size, n_ctx, device)
    else:
        model = model.to(device)
        if n_ctx > model.n_ctx:
            raise ConfigError(f"chunks need {n_ctx} positions but the model has {model.n_ctx}: "
                              "use smaller chunk_bytes or a new model")
    steps = cfg.steps if steps is None else steps
    names = [n for n, _ in model.named_parameters()]
    params = [(n, p) for n, p in model.named_parameters() if trainable is None or trainable(n)]
    if not params:
        raise ConfigError("no trainable parameters selected")
    for n, p in model.named_parameters():
        p.requires_grad_(trainable is None or trainable(n))
    decay = [p for n, p in params if p.dim() >= 2]
    no_decay = [p for n, p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95))
    wrapped = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        wrapped = DDP(model, device_ids=[device.index] if device.type == "cuda" else None,
                      find_unused_parameters=len(params) < len(names))
    gen = torch.Generator().manual_seed(cfg.seed)
    order = torch.randperm(len(train.ids), generator=gen).tolist()
    pos = 0
    history: list[dict] = []
    bytes_seen = 0
    t0 = time.perf_counter()
    model.train()
    for step in range(steps):
        batch = []
        for _ in range(cfg.batch_size):
            if pos >= len(order):
                order = torch.randperm(len(train.ids), generator=gen).tolist()
                pos = 0
            batch.append(order[pos])
            pos += 1
        mine = batch[rank::world]
        for g in opt.param_groups:
            g["lr"] = _lr(cfg.replace(steps=steps), step)
        if loss_fn is not None:
            nll, ntok, nbytes_local = loss_fn(wrapped, mine)
        else:
            x, y = make_batch(train, mine, device)
            logits = wrapped(x)
            nll = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-100, reduction="sum")
            ntok = int((y != -100).sum())
            nbytes_local = sum(train.nbytes[i] for i in mine)
        counts = torch.tensor([float(ntok), float(nbytes_local), float(nll.detach())], dtype=torch.float64)
        if world > 1:
            dist.all_reduce(counts)
        loss = nll * (world / max(counts[0].item(), 1.0))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        opt.step()
        bytes_seen += int(counts[1].item())
        last = step == steps - 1
        if val is not None and ((step + 1) % cfg.eval_every == 0 or last):
            point = {"step": step + 1, "bytes_seen": bytes_seen,
                     "train_bpb": counts[2].item() / (LN2 * max(counts[1].item(), 1.0)),
                     "val_bpb": evaluate_bpb(model, val, limit=cfg.eval_chunks),
                     "seconds": time.perf_counter() - t0}
            history.append(point)
            if log is not None and rank == 0:
                log(point)
    for p in model.parameters():
        p.requires_grad_(True)
    if created_group or world > 1:
        # the group stays up: lm compare trains several models in one torchrun launch, and evaluation
        # after training shards across ranks; the process exit tears it down
        dist.barrier()
    return model, history


def save_lm(model: TinyGPT, out_dir: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write `model.safetensors` and `lm.json` (config, sizes, `meta`); both are built in memory first."""
    from safetensors.torch import save

    out = Path(out_dir)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    if model.cfg.tie_embeddings:
        state.pop("lm_head.weight", None)
    blob = save(state)
    info = json.dumps({"format": "tokensmith-tinygpt", "version": 1, "config": model.cfg.to_dict(),
                       "vocab_size": model.vocab_size, "n_ctx": model.n_ctx, "meta": meta or {}}, indent=1)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "model.safetensors", "wb") as f:
        f.write(blob)
    with atomic_write(out / "lm.json") as f:
        f.write(info)
    return out


def load_lm(path: str | os.PathLike, device: str = "cpu") -> tuple[TinyGPT, dict]:
    """Load a checkpoint written by `save_lm`; `FormatError` on a missing, foreign or corrupt file."""
    from tokensmith.adapt.embeddings import read_safetensors

    path = Path(path)
    try:
        info = json.loads((path / "lm.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FormatError(f"{path} has no lm.json: give a directory written by save_lm / tokensmith lm") from exc
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path / 'lm.json'} is not valid JSON ({exc})") from exc
    if info.get("format") != "tokensmith-tinygpt":
        raise FormatError(f"{path / 'lm.json'} is not a tokensmith tiny-LM checkpoint")
    cfg = LMConfig.from_dict(info["config"])
    state = read_safetensors(path / "model.safetensors")
    model = TinyGPT(cfg, int(info["vocab_size"]), int(info["n_ctx"]))
    if cfg.tie_embeddings:
        state.setdefault("lm_head.weight", state.get("tok_emb.weight"))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise FormatError(f"{path / 'model.safetensors'} does not match lm.json: {str(exc).splitlines()[0]}") from exc
    return model.to(resolve_device(device)), info.get("meta", {})
