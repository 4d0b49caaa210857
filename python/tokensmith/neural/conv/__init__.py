"""Causal convolutions: 3-D for video (a frame never sees the future), strided 1-D for audio."""

from tokensmith.neural.conv.causal1d import CausalConv1d, CausalConv1dStack
from tokensmith.neural.conv.causal3d import CausalConv3d, CausalConv3dStack, inflate_conv2d

__all__ = ["CausalConv1d", "CausalConv1dStack", "CausalConv3d", "CausalConv3dStack", "inflate_conv2d"]
