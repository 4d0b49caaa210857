"""A tiny GPT (pre-LayerNorm, learned positions, GELU MLP, causal SDPA attention).

Input embeddings (`tok_emb`) and output embeddings (`lm_head`) are separate unless
`tie_embeddings`, so transfer and AdaptiVocab can initialise each side on its own. `hidden()`
takes input embeddings directly: the zip2zip hyper-embedding module feeds it.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from tokensmith.lm.config import LMConfig


class Block(nn.Module):
    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.n_head = cfg.n_head
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, cfg.mlp_ratio * d)
        self.out = nn.Linear(cfg.mlp_ratio * d, d)
        self.drop = cfg.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        shape = (b, t, self.n_head, d // self.n_head)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.drop if self.training else 0.0)
        y = y.transpose(1, 2).reshape(b, t, d)
        x = x + F.dropout(self.proj(y), self.drop, self.training)
        x = x + F.dropout(self.out(F.gelu(self.fc(self.ln2(x)))), self.drop, self.training)
        return x


class TinyGPT(nn.Module):
    """Causal LM over `vocab_size` ids (the tokenizer's ids plus BOS) with context `n_ctx` tokens."""

    def __init__(self, cfg: LMConfig, vocab_size: int, n_ctx: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.n_ctx = n_ctx
        self.tok_emb = nn.Embedding(vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(n_ctx, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.lm_head = nn.Linear(cfg.d_model, vocab_size, bias=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith(("proj.weight", "out.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layer))
        if cfg.tie_embeddings:
            self.lm_head.weight = self.tok_emb.weight

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def num_params(self, embeddings: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        if not embeddings:
            n -= self.tok_emb.weight.numel() + self.pos_emb.weight.numel()
            if not self.cfg.tie_embeddings:
                n -= self.lm_head.weight.numel()
        return n

    def hidden(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        """Final hidden states (after ln_f) for input embeddings of shape (batch, time, d_model)."""
        t = inputs_embeds.shape[1]
        if t > self.n_ctx:
            raise ValueError(f"sequence of {t} tokens is longer than the model's context {self.n_ctx}")
        x = inputs_embeds + self.pos_emb(torch.arange(t, device=inputs_embeds.device))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits (batch, time, vocab_size) for ids (batch, time)."""
        return self.lm_head(self.hidden(self.tok_emb(idx)))
