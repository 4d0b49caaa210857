"""Token pruning and recovery: DPC-kNN (HoT), recovering attention, masked k-means pooling (PixelRefer),
soft top-k (μ²Tokenizer), sandglass attention (STD-PLM)."""

from tokensmith.neural.pruning.dpc_knn import TokenPruningCluster, dpc_knn
from tokensmith.neural.pruning.kmeans_pool import masked_kmeans_pool
from tokensmith.neural.pruning.recovery import TokenRecoveringAttention
from tokensmith.neural.pruning.sandglass import SandglassAttention
from tokensmith.neural.pruning.soft_topk import SoftTopK, soft_topk

__all__ = ["SandglassAttention", "SoftTopK", "TokenPruningCluster", "TokenRecoveringAttention", "dpc_knn",
           "masked_kmeans_pool", "soft_topk"]
