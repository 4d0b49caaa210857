"""Learned chunking: H-Net dynamic chunking (routing, chunk, EMA dechunk, ratio loss)."""

from tokensmith.neural.chunking.dynamic import ChunkState, DynamicChunking, RoutingModule, ratio_loss

__all__ = ["ChunkState", "DynamicChunking", "RoutingModule", "ratio_loss"]
