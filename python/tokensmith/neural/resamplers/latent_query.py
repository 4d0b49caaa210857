"""Latent-query encoder — the 1-D tokenizer of Yu et al. 2024, "An Image is Worth 32 Tokens for
Reconstruction and Generation" (TiTok, §3.2, Fig. 3): K learnable latent tokens are appended to the
input tokens, a Transformer runs over `[inputs; latents]`, and the outputs at the K latent positions
become the tokens (LayerNorm → Linear to the token dim → quantizer).

`causal=True` gives FlexTok's register attention (Bachmann et al. 2025, §3.1): latent i attends to
every input and to latents ≤ i, inputs attend only to inputs, so a token prefix never depends on
later tokens (the premise of nested dropout). The same module is the compression half of STD-PLM's
sandglass and VAT's in-context compressor.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from tokensmith.neural.io import configurable
from tokensmith.neural.resamplers.transformer import TransformerStack


def latent_query_mask(n_inputs: int, n_queries: int, causal: bool, device=None) -> Optional[torch.Tensor]:
    """Bool (N+K, N+K) mask, True = may attend. None (full attention) when not causal."""
    if not causal:
        return None
    n = n_inputs + n_queries
    mask = torch.zeros(n, n, dtype=torch.bool, device=device)
    mask[:n_inputs, :n_inputs] = True
    mask[n_inputs:, :n_inputs] = True
    mask[n_inputs:, n_inputs:] = torch.ones(n_queries, n_queries, dtype=torch.bool, device=device).tril()
    return mask


@configurable
class LatentQueryEncoder(nn.Module):
    """`forward(tokens (B, N, dim)) -> latents (B, n_queries, out_dim)`.

    Args:
        dim: width of the Transformer (inputs must already be embedded to `dim`).
        n_queries: K latent tokens.
        depth, heads, mlp_ratio: Transformer size.
        out_dim: token dimension after the output projection (None = dim, no projection).
        causal: causal attention among the queries, inputs blind to queries (FlexTok registers).
        max_inputs: if set, learned positional embeddings are added to the first `max_inputs` inputs.
    """

    def __init__(
        self,
        dim: int,
        n_queries: int,
        depth: int = 2,
        heads: int = 4,
        *,
        mlp_ratio: float = 4.0,
        out_dim: Optional[int] = None,
        causal: bool = False,
        max_inputs: Optional[int] = None,
    ) -> None:
        super().__init__()
        self.n_queries, self.causal = n_queries, causal
        self.queries = nn.Parameter(torch.randn(n_queries, dim) * dim**-0.5)
        self.query_pos = nn.Parameter(torch.randn(n_queries, dim) * 0.02)
        self.input_pos = nn.Parameter(torch.randn(max_inputs, dim) * 0.02) if max_inputs else None
        self.transformer = TransformerStack(dim, depth, heads, mlp_ratio=mlp_ratio)
        self.out = nn.Linear(dim, out_dim) if out_dim and out_dim != dim else nn.Identity()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, n, _ = tokens.shape
        if self.input_pos is not None:
            tokens = tokens + self.input_pos[:n]
        latents = (self.queries + self.query_pos).expand(b, -1, -1)
        mask = latent_query_mask(n, self.n_queries, self.causal, tokens.device)
        h = self.transformer(torch.cat([tokens, latents.to(tokens.dtype)], 1), mask=mask)
        return self.out(h[:, n:])
