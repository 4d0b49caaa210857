"""Offline, deterministic data for the neural-tokenizer demos (no downloads).

Every generator takes `n` and `seed` and returns float32 numpy arrays (plus labels where they
exist), so the same seed gives the same bytes on every machine. Images are channel-first in
[0, 1]; videos (N, T, C, H, W); audio (N, samples) in [-1, 1].

  digits()            scikit-learn 8×8 digits (1,797 images, shipped with the package)
  shapes()            16×16 circles / squares / triangles / crosses at random sizes & positions
  masks()             32×32 binary masks: ellipses (simple) vs many-vertex polygons (complex)
  moving_sprites()    T×32×32 clips of 1–2 sprites moving with constant velocity
  stick_figures()     2-D projections of a 17-joint stick figure walking, with noise
  harmonic_audio()    vowel-like harmonic stacks with formant envelopes, and phoneme sequences
  occupancy()         moving boxes on an X×Y×Z semantic occupancy grid over time
  point_clouds()      surface samples of boxes / spheres / cylinders
  graph_diffusion()   heat diffusion on a random geometric graph (T×N×1) with missing masks
  grid_world()        63×63 RGB frames of a tile grid world with an agent walking
  byte_streams()      byte sequences of words from a small lexicon, with true word boundaries
"""

from tokensmith.neural.data.digits import digits, train_test_split
from tokensmith.neural.data.synthetic import (
    byte_streams,
    graph_diffusion,
    grid_world,
    harmonic_audio,
    masks,
    moving_sprites,
    occupancy,
    point_clouds,
    shapes,
    stick_figures,
)

__all__ = [
    "digits", "train_test_split", "shapes", "masks", "moving_sprites", "stick_figures", "harmonic_audio",
    "occupancy", "point_clouds", "graph_diffusion", "grid_world", "byte_streams",
]
