"""Variable-length token sequences: tail drop (One-D-Piece), nested dropout (FlexTok), ALTo predictor."""

from tokensmith.neural.length.alto import AdaptiveLengthPredictor, LengthPrediction, differentiable_keep_mask
from tokensmith.neural.length.nested_dropout import NestedDropout
from tokensmith.neural.length.tail_drop import TailTokenDrop

__all__ = ["AdaptiveLengthPredictor", "LengthPrediction", "NestedDropout", "TailTokenDrop", "differentiable_keep_mask"]
