"""zip2zip hyper-embeddings: let a PyTorch causal LM read and write LZW hypertokens.

A hypertoken stands for up to M base tokens, and its meaning differs per sequence (each sequence
grows its own codebook), so its embedding cannot be a table row. As in zip2zip (Geng et al., NeurIPS
2025), a small encoder maps the pieces' embeddings to one vector, on both sides:
- input: E_in(h) = enc_in(E_in(t_1), ..., E_in(t_n));
- output: the logit of h at a position is <hidden, enc_out(E_out(t_1..t_n))>, next to the base logits.
Entries are only offered once the decoder could know them (from the codes read so far), so the
model predicts exactly what an LZW decoder can follow. Bits per byte stay comparable: the summed NLL
of the code stream is a code length for the text.

The encoder: masked mean of (piece embedding + piece-position embedding), plus a residual MLP whose
last layer starts at zero (so training starts from the FVT-like mean).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from tokensmith.adapt import lzw
from tokensmith.lm.data import ChunkSet

__all__ = ["HyperEncoder", "HyperLM", "lzw_schedule", "hyper_batch", "hyper_loss_fn", "evaluate_hyper_bpb"]

LN2 = math.log(2.0)


class HyperEncoder(nn.Module):
    """(..., M, d) piece embeddings + (..., M) mask -> (..., d)."""

    def __init__(self, d_model: int, max_subtokens: int, hidden: int | None = None) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(max_subtokens, d_model))
        self.ln = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, hidden or 2 * d_model)
        self.out = nn.Linear(hidden or 2 * d_model, d_model)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, pieces: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(pieces.dtype)
        x = (pieces + self.pos[: pieces.shape[-2]]) * m
        h = x.sum(-2) / m.sum(-2).clamp_min(1.0)
        return h + self.out(F.gelu(self.fc(self.ln(h))))


class HyperLM(nn.Module):
    """A tokensmith TinyGPT (or anything with tok_emb, lm_head and hidden()) over LZW codes.

    Base ids are `[0, base.vocab_size)` (BOS included, as a disabled id); hyper ids follow.
    """

    def __init__(self, base: nn.Module, *, max_subtokens: int = 3, codebook_size: int = 1024) -> None:
        super().__init__()
        self.base = base
        self.max_subtokens = max_subtokens
        self.codebook_size = codebook_size
        d = base.tok_emb.weight.shape[1]
        self.enc_in = HyperEncoder(d, max_subtokens)
        self.enc_out = HyperEncoder(d, max_subtokens)
        self.n_ctx = base.n_ctx
        self.vocab_size = base.vocab_size

    @property
    def bos_id(self) -> int:
        return self.base.vocab_size - 1

    def lzw_kwargs(self) -> dict:
        return dict(base_vocab_size=self.base.vocab_size, codebook_size=self.codebook_size,
                    max_subtokens=self.max_subtokens, disabled_ids=[self.bos_id])

    def forward(self, codes: torch.Tensor, book: torch.Tensor, known_at: torch.Tensor,
                virtual: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V0 + K + 1) for input codes (B, T).

        `book` (B, K, M): base ids of each entry (-1 pad); `known_at` (B, K): first input position whose
        prediction may use the entry; `virtual` (B, T, M): at each position, the entry the decoder
        would create if the next code were the one being defined ("KwKwK": prev + prev[0]; -1 rows where
        no entry can be added). The last logit column is that virtual entry."""
        v0 = self.base.vocab_size
        k_real = book.shape[1]
        bmask = book >= 0
        is_hyper = codes >= v0
        emb = self.base.tok_emb(torch.where(is_hyper, torch.zeros_like(codes), codes))
        if k_real:
            hyper_in = self.enc_in(self.base.tok_emb(book.clamp_min(0)), bmask)  # (B, K, d)
            k = (codes - v0).clamp(0, k_real - 1)
            hyp = torch.gather(hyper_in, 1, k.unsqueeze(-1).expand(-1, -1, hyper_in.shape[-1]))
            emb = torch.where(is_hyper.unsqueeze(-1), hyp, emb)
        h = self.base.hidden(emb)
        parts = [self.base.lm_head(h)]
        t = torch.arange(codes.shape[1], device=codes.device)
        if k_real:
            w_out = self.enc_out(self.base.lm_head.weight[book.clamp_min(0)], bmask)  # (B, K, d)
            real = torch.einsum("btd,bkd->btk", h, w_out)
            ok = (known_at.unsqueeze(1) <= t.view(1, -1, 1)) & bmask.any(-1).unsqueeze(1)
            parts.append(real.masked_fill(~ok, float("-inf")))
        vmask = virtual >= 0
        w_virt = self.enc_out(self.base.lm_head.weight[virtual.clamp_min(0)], vmask)  # (B, T, d)
        virt = (h * w_virt).sum(-1, keepdim=True).masked_fill(~vmask.any(-1, keepdim=True), float("-inf"))
        parts.append(virt)
        return torch.cat(parts, -1)


def lzw_schedule(codes: Sequence[int], book: Sequence[Sequence[int]], base_vocab_size: int, codebook_size: int,
                 max_subtokens: int, disabled_ids: Sequence[int] = ()) -> tuple[list[int], list, list[bool]]:
    """Mirror `lzw.decode` over a code stream whose codebook is known.

    Returns (steps, virtual, kwkwk): steps[k] = index of the code whose decoding adds entry k;
    virtual[i] = the entry the decoder would add if code i were the entry being defined (prev + prev[0],
    or None when no entry can be added before code i); kwkwk[i] = code i is exactly that case.
    """
    disabled = set(disabled_ids)
    steps: list[int] = []
    virtual: list = []
    kwkwk: list[bool] = []
    prev: list[int] = []
    n_book = 0
    merging = codebook_size > 0 and max_subtokens >= 2
    for i, c in enumerate(codes):
        can_add = merging and bool(prev) and len(prev) < max_subtokens and n_book < codebook_size
        virtual.append(prev + [prev[0]] if can_add else None)
        kwkwk.append(can_add and c == base_vocab_size + n_book)
        if c < base_vocab_size and c in disabled:
            prev = []
            continue
        if can_add:
            steps.append(i)
            n_book += 1
        prev = [c] if c < base_vocab_size else list(book[c - base_vocab_size])
    return steps, virtual, kwkwk


def hyper_batch(cs: ChunkSet, idx: Sequence[int], kw: dict, device: torch.device):
    """(inputs, targets with -100 pad, book, known_at, virtual) for chunks `idx` of a ChunkSet.

    Targets use the layout of `HyperLM.forward`: base ids, then V0 + k for real entries, then
    V0 + K for a code that is the entry being defined (the virtual column)."""
    bos = cs.bos_id
    v0 = kw["base_vocab_size"]
    m = kw["max_subtokens"]
    seqs = [[bos] + cs.ids[i] for i in idx]
    pairs = lzw.encode_batch_with_codebook(seqs, **kw)
    t = max(1, max(len(c) for c, _ in pairs) - 1)
    k_max = max((len(b) for _, b in pairs), default=0)
    x = torch.full((len(idx), t), bos, dtype=torch.long)
    y = torch.full((len(idx), t), -100, dtype=torch.long)
    book = torch.full((len(idx), k_max, m), -1, dtype=torch.long)
    known = torch.full((len(idx), k_max), 1 << 30, dtype=torch.long)
    virtual = torch.full((len(idx), t, m), -1, dtype=torch.long)
    for r, (codes, entries) in enumerate(pairs):
        n = len(codes) - 1
        steps, virt, kwk = lzw_schedule(codes, entries, v0, kw["codebook_size"], m, kw["disabled_ids"])
        if n > 0:
            x[r, :n] = torch.tensor(codes[:-1])
            tgt = list(codes[1:])
            for i in range(1, len(codes)):
                if kwk[i]:
                    tgt[i - 1] = v0 + k_max
                if virt[i] is not None:
                    virtual[r, i - 1, : len(virt[i])] = torch.tensor(virt[i])
            y[r, :n] = torch.tensor(tgt)
        for j, e in enumerate(entries):
            book[r, j, : len(e)] = torch.tensor(e)
        if steps:
            # input position p predicts code p + 1; an entry added while decoding code s is known to
            # the decoder from code s + 1 on, i.e. usable at positions p >= s
            known[r, : len(steps)] = torch.tensor(steps)
    return x.to(device), y.to(device), book.to(device), known.to(device), virtual.to(device)


def hyper_loss_fn(cs: ChunkSet, kw: dict):
    """A `loss_fn` for `tokensmith.lm.train.train_lm`: (summed NLL, code targets, bytes) of chunks."""

    def loss(model, idx):
        dev = next(model.parameters()).device
        x, y, book, known, virt = hyper_batch(cs, idx, kw, dev)
        logits = model(x, book, known, virt)
        nll = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-100, reduction="sum")
        return nll, int((y != -100).sum()), sum(cs.nbytes[i] for i in idx)

    return loss


@torch.no_grad()
def evaluate_hyper_bpb(model: HyperLM, cs: ChunkSet, *, batch_size: int = 64) -> dict:
    """Bits per byte of the code stream, plus the code/base token ratio of the chunks."""
    was = model.training
    model.eval()
    kw = model.lzw_kwargs()
    dev = next(model.parameters()).device
    nll = 0.0
    codes = base = 0
    for i in range(0, len(cs.ids), batch_size):
        idx = list(range(i, min(i + batch_size, len(cs.ids))))
        x, y, book, known, virt = hyper_batch(cs, idx, kw, dev)
        logits = model(x, book, known, virt)
        nll += F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-100, reduction="sum").item()
        codes += int((y != -100).sum())
        base += sum(len(cs.ids[j]) for j in idx)
    model.train(was)
    return {"bpb": nll / (LN2 * max(cs.total_bytes, 1)), "codes": codes, "base_tokens": base,
            "reduction": 1 - codes / max(base, 1)}
