"""Deterministic synthetic generators: same `seed`, same arrays, no downloads.

Each one is small enough to generate in well under a second for demo sizes, and each keeps the
ground truth the demo needs (class labels, true word boundaries, 3-D joints behind a 2-D view...).
"""

from __future__ import annotations

import math

import numpy as np

from tokensmith.errors import ConfigError


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(c, c, indexing="ij")  # yy, xx in (0, 1)


def _shape_mask(kind: int, yy, xx, cy, cx, r, angle=0.0) -> np.ndarray:
    """kind: 0 circle, 1 square, 2 triangle, 3 cross (soft-free binary masks)."""
    dy, dx = yy - cy, xx - cx
    ca, sa = math.cos(angle), math.sin(angle)
    u, v = ca * dx + sa * dy, -sa * dx + ca * dy
    if kind == 0:
        return (u * u + v * v) <= r * r
    if kind == 1:
        return (np.abs(u) <= r * 0.8) & (np.abs(v) <= r * 0.8)
    if kind == 2:
        return (v <= r * 0.7) & (v >= -r * 0.9 + 1.6 * np.abs(u))
    return ((np.abs(u) <= r * 0.3) & (np.abs(v) <= r)) | ((np.abs(v) <= r * 0.3) & (np.abs(u) <= r))


SHAPE_NAMES = ("circle", "square", "triangle", "cross")


def shapes(n: int = 2000, *, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Grey shapes on a dark background: images (n, 1, size, size) in [0, 1], labels (n,) in 0..3."""
    rng = _rng(seed)
    yy, xx = _grid(size)
    x = np.zeros((n, 1, size, size), np.float32)
    y = rng.integers(0, 4, n)
    for i in range(n):
        r = rng.uniform(0.18, 0.38)
        cy, cx = rng.uniform(r * 0.8, 1 - r * 0.8, 2)
        m = _shape_mask(int(y[i]), yy, xx, cy, cx, r, rng.uniform(0, math.pi / 4))
        x[i, 0] = np.where(m, rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.15))
    return x, y.astype(np.int64)


def masks(n: int = 1000, *, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary masks (n, 1, size, size): half ellipses (simple), half star polygons with 5–16 vertices.

    Returns masks, kind (0 ellipse, 1 polygon) and the contour length in pixels (boundary pixel count),
    the complexity ALTo's chosen token count should track.
    """
    rng = _rng(seed)
    yy, xx = _grid(size)
    out = np.zeros((n, 1, size, size), np.float32)
    kind = (np.arange(n) % 2).astype(np.int64)
    rng.shuffle(kind)
    for i in range(n):
        cy, cx = rng.uniform(0.35, 0.65, 2)
        if kind[i] == 0:
            a, b = rng.uniform(0.12, 0.32, 2)
            t = rng.uniform(0, math.pi)
            dy, dx = yy - cy, xx - cx
            u, v = math.cos(t) * dx + math.sin(t) * dy, -math.sin(t) * dx + math.cos(t) * dy
            m = (u / a) ** 2 + (v / b) ** 2 <= 1
        else:
            k = int(rng.integers(5, 17))
            theta = np.arctan2(yy - cy, xx - cx)
            rad = np.hypot(yy - cy, xx - cx)
            r_out, r_in = rng.uniform(0.22, 0.33), rng.uniform(0.08, 0.16)
            phase = rng.uniform(0, 2 * math.pi)
            # star: radius oscillates between r_in and r_out k times around the centre
            r_theta = r_in + (r_out - r_in) * 0.5 * (1 + np.cos(k * theta + phase)) ** 1.5 / 2 ** 0.5
            m = rad <= r_theta
        out[i, 0] = m
    contour = np.array([_boundary_pixels(o[0]) for o in out], np.float32)
    return out, kind, contour


def _boundary_pixels(m: np.ndarray) -> int:
    p = np.pad(m > 0.5, 1)
    inner = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return int((p[1:-1, 1:-1] & ~inner).sum())


def moving_sprites(
    n: int = 500, *, frames: int = 8, size: int = 32, max_sprites: int = 2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Clips (n, frames, 1, size, size) of 1..max_sprites shapes moving at constant velocity, bouncing
    off the walls. Labels (n,) = shape class of the first sprite (for probes)."""
    rng = _rng(seed)
    yy, xx = _grid(size)
    x = np.zeros((n, frames, 1, size, size), np.float32)
    labels = np.zeros(n, np.int64)
    for i in range(n):
        for s in range(int(rng.integers(1, max_sprites + 1))):
            kind = int(rng.integers(0, 4))
            if s == 0:
                labels[i] = kind
            r = rng.uniform(0.12, 0.2)
            pos = rng.uniform(r, 1 - r, 2)
            vel = rng.uniform(-0.08, 0.08, 2)
            val = rng.uniform(0.5, 1.0)
            for t in range(frames):
                m = _shape_mask(kind, yy, xx, pos[0], pos[1], r)
                x[i, t, 0] = np.maximum(x[i, t, 0], m * val)
                pos = pos + vel
                for d in range(2):
                    if pos[d] < r or pos[d] > 1 - r:
                        vel[d] = -vel[d]
                        pos[d] = np.clip(pos[d], r, 1 - r)
    return x, labels


# 17-joint skeleton (Human3.6M joint order): parent index and rest offset (metres, y up)
_PARENTS = [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]
_OFFSETS = np.array([
    [0, 0, 0], [-0.13, 0, 0], [0, -0.45, 0], [0, -0.45, 0], [0.13, 0, 0], [0, -0.45, 0], [0, -0.45, 0],
    [0, 0.25, 0], [0, 0.25, 0], [0, 0.1, 0], [0, 0.12, 0], [0.17, -0.02, 0], [0, -0.28, 0], [0, -0.25, 0],
    [-0.17, -0.02, 0], [0, -0.28, 0], [0, -0.25, 0],
], np.float32)
_SWING = {2: 0.6, 3: 0.5, 5: 0.6, 6: 0.5, 12: 0.5, 13: 0.4, 15: 0.5, 16: 0.4}  # joint -> swing amplitude


def stick_figures(
    n: int = 256, *, frames: int = 81, noise: float = 0.01, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Walking/waving stick figures. Returns 2-D inputs (n, frames, 17, 2) — an orthographic view with
    Gaussian noise — and the 3-D targets (n, frames, 17, 3), root-relative, for MPJPE.

    Each limb swings sinusoidally about the x axis with a per-clip frequency, phase and amplitude;
    the whole body yaws slowly, so the depth that the 2-D view hides changes over time."""
    rng = _rng(seed)
    t = np.arange(frames, dtype=np.float32)[:, None]
    out3 = np.zeros((n, frames, 17, 3), np.float32)
    for i in range(n):
        freq = rng.uniform(0.05, 0.2)
        yaw0, yaw_rate = rng.uniform(0, 2 * math.pi), rng.uniform(-0.03, 0.03)
        scale = rng.uniform(0.85, 1.15)
        ang = np.zeros((frames, 17), np.float32)
        for j, a in _SWING.items():
            sign = 1 if j in (2, 3, 15, 16) else -1
            ang[:, j] = sign * a * rng.uniform(0.6, 1.2) * np.sin(2 * math.pi * freq * t[:, 0] + rng.uniform(-0.3, 0.3))
        pos = np.zeros((frames, 17, 3), np.float32)
        rot = np.tile(np.eye(3, dtype=np.float32), (frames, 17, 1, 1))
        for j in range(1, 17):
            p = _PARENTS[j]
            c, s = np.cos(ang[:, j]), np.sin(ang[:, j])
            rx = np.zeros((frames, 3, 3), np.float32)
            rx[:, 0, 0] = 1
            rx[:, 1, 1], rx[:, 1, 2], rx[:, 2, 1], rx[:, 2, 2] = c, -s, s, c
            rot[:, j] = rot[:, p] @ rx
            pos[:, j] = pos[:, p] + np.einsum("tij,j->ti", rot[:, p], _OFFSETS[j] * scale)
        yaw = yaw0 + yaw_rate * t[:, 0]
        cy, sy = np.cos(yaw), np.sin(yaw)
        x, z = pos[..., 0], pos[..., 2]
        out3[i, ..., 0] = cy[:, None] * x + sy[:, None] * z
        out3[i, ..., 1] = pos[..., 1]
        out3[i, ..., 2] = -sy[:, None] * x + cy[:, None] * z
    out2 = out3[..., :2] + rng.normal(0, noise, out3[..., :2].shape).astype(np.float32)
    return out2.astype(np.float32), out3


# vowel formants (F1, F2) in Hz, after Peterson & Barney averages
_VOWELS = np.array([[270, 2290], [390, 1990], [530, 1840], [660, 1720], [730, 1090],
                    [570, 840], [440, 1020], [300, 870]], np.float32)


def harmonic_audio(
    n: int = 64, *, segments: int = 8, segment_seconds: float = 0.16, sample_rate: int = 8000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Vowel-like speech: each clip is `segments` 'phonemes' of `segment_seconds` (0.16 s ⇒ 6.25 Hz),
    each a harmonic stack on a gliding f0 (90–220 Hz) shaped by two formant resonances of one of 8
    vowels. Returns audio (n, segments·seg_len) in [-1, 1] and phoneme ids (n, segments)."""
    rng = _rng(seed)
    seg_len = int(round(segment_seconds * sample_rate))
    total = segments * seg_len
    t = np.arange(total, dtype=np.float64) / sample_rate
    audio = np.zeros((n, total), np.float32)
    ph = rng.integers(0, len(_VOWELS), (n, segments))
    for i in range(n):
        f0 = rng.uniform(90, 220) * (1 + 0.1 * np.sin(2 * math.pi * rng.uniform(0.5, 2) * t))
        phase = 2 * math.pi * np.cumsum(f0) / sample_rate
        formants = np.repeat(_VOWELS[ph[i]], seg_len, axis=0)  # (total, 2)
        # smooth formant transitions over ~10 ms
        k = max(1, int(0.01 * sample_rate))
        kernel = np.ones(k) / k
        formants = np.stack([np.convolve(np.pad(formants[:, d], (k // 2, k - 1 - k // 2), mode="edge"), kernel, "valid")
                             for d in range(2)], 1)
        sig = np.zeros(total)
        for h in range(1, 40):
            fh = h * f0
            amp = sum(1.0 / (1 + ((fh - formants[:, d]) / (60 + 0.1 * formants[:, d])) ** 2) for d in range(2))
            amp = amp * (fh < sample_rate / 2) / h**0.5
            sig += amp * np.sin(h * phase)
        env = np.ones(total)
        for s in range(segments):  # short amplitude dip between phonemes
            a = s * seg_len
            env[a:a + k] = np.linspace(0.3, 1, k)
        sig = sig * env
        audio[i] = (0.9 * sig / (np.abs(sig).max() + 1e-8)).astype(np.float32)
    return audio, ph.astype(np.int64)


def occupancy(
    n: int = 64, *, frames: int = 4, shape: tuple[int, int, int] = (32, 32, 8), classes: int = 4, seed: int = 0
) -> np.ndarray:
    """Semantic occupancy sequences (n, frames, X, Y, Z) int64; 0 = empty, 1 = ground (z = 0),
    2.. = moving boxes of a class (cars/pedestrians-like sizes) translating across frames."""
    rng = _rng(seed)
    X, Y, Z = shape
    out = np.zeros((n, frames) + shape, np.int64)
    out[..., 0] = 1
    for i in range(n):
        for _ in range(int(rng.integers(2, 6))):
            c = int(rng.integers(2, classes))
            sx, sy, sz = int(rng.integers(2, 7)), int(rng.integers(2, 5)), int(rng.integers(1, Z - 1))
            px, py = rng.uniform(0, X - sx), rng.uniform(0, Y - sy)
            vx, vy = rng.uniform(-1.5, 1.5, 2)
            for t in range(frames):
                ax, ay = int(px + vx * t) % (X - sx), int(py + vy * t) % (Y - sy)
                out[i, t, ax:ax + sx, ay:ay + sy, 1:1 + sz] = c
    return out


def point_clouds(n: int = 256, *, points: int = 512, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Surface samples (n, points, 3) of a random box (0), sphere (1) or cylinder (2), randomly scaled
    and rotated, centred in [-1, 1]³. Returns points and labels."""
    rng = _rng(seed)
    out = np.zeros((n, points, 3), np.float32)
    labels = rng.integers(0, 3, n)
    for i in range(n):
        k = labels[i]
        if k == 0:
            p = rng.uniform(-1, 1, (points, 3))
            ax = rng.integers(0, 3, points)
            p[np.arange(points), ax] = np.sign(rng.uniform(-1, 1, points))
            p = p * rng.uniform(0.3, 0.8, 3)
        elif k == 1:
            p = rng.normal(size=(points, 3))
            p = p / np.linalg.norm(p, axis=1, keepdims=True) * rng.uniform(0.4, 0.8)
        else:
            th = rng.uniform(0, 2 * math.pi, points)
            r, h = rng.uniform(0.25, 0.6), rng.uniform(0.4, 0.9)
            side = rng.uniform(0, 1, points) < 0.7
            rad = np.where(side, r, r * np.sqrt(rng.uniform(0, 1, points)))
            z = np.where(side, rng.uniform(-h, h, points), np.sign(rng.uniform(-1, 1, points)) * h)
            p = np.stack([rad * np.cos(th), rad * np.sin(th), z], 1)
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        out[i] = p @ q.T
    return out, labels.astype(np.int64)


def graph_diffusion(
    steps: int = 2000, *, nodes: int = 50, radius: float = 0.25, missing: float = 0.2, seed: int = 0
) -> dict:
    """Heat diffusion with random sources on a random geometric graph (traffic-like series).

    Returns {'series': (steps, nodes, 1), 'adjacency': (nodes, nodes), 'coords': (nodes, 2),
    'mask': (steps, nodes) with 1 = observed (a `missing` fraction is hidden, for imputation)}."""
    rng = _rng(seed)
    xy = rng.uniform(0, 1, (nodes, 2)).astype(np.float32)
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    adj = ((d < radius) & (d > 0)).astype(np.float32)
    lap = np.diag(adj.sum(1)) - adj
    alpha = 0.9 / max(1.0, lap.diagonal().max())
    x = np.zeros(nodes, np.float32)
    series = np.zeros((steps, nodes, 1), np.float32)
    daily = rng.uniform(0, 1, nodes)
    for t in range(steps):
        src = (np.sin(2 * math.pi * (t / 48 + daily)) + 1) * 0.5 * (rng.uniform(0, 1, nodes) < 0.1)
        x = x - alpha * (lap @ x) - 0.05 * x + src
        series[t, :, 0] = x
    series = (series - series.mean()) / (series.std() + 1e-8)
    mask = (rng.uniform(0, 1, (steps, nodes)) > missing).astype(np.float32)
    return {"series": series, "adjacency": adj, "coords": xy, "mask": mask}


# grid-world tiles: base colour (RGB) per terrain
_TILES = np.array([[0.35, 0.7, 0.3], [0.2, 0.4, 0.85], [0.1, 0.45, 0.15], [0.55, 0.55, 0.55], [0.85, 0.8, 0.5]], np.float32)


def _tile_patch(kind: int, light: float) -> np.ndarray:
    yy, xx = np.mgrid[0:7, 0:7]
    base = np.broadcast_to(_TILES[kind][:, None, None], (3, 7, 7)).copy()
    if kind == 2:  # tree: dark disc
        base[:, (yy - 3) ** 2 + (xx - 3) ** 2 <= 5] *= 0.5
    elif kind == 3:  # stone: brick lines
        base[:, (yy % 3) == 0] *= 0.7
    elif kind == 1:  # water: waves
        base[:, ((yy + xx) % 4) == 0] *= 1.2
    return np.clip(base * light, 0, 1)


def grid_world(
    n: int = 200, *, seed: int = 0, map_size: int = 24, light_levels: int = 3, noise: float = 0.0
) -> np.ndarray:
    """63×63 RGB frames (n, 3, 63, 63) of an agent random-walking over a tile map (9×9 view of a
    `map_size`² terrain of 5 tile types). A day/night `light` factor takes `light_levels` values and
    the agent (red cross) is drawn on its tile, so the set of distinct 7×7 patches is small but
    not trivial — the regime where the TWM nearest-neighbour tokenizer works."""
    rng = _rng(seed)
    world = rng.integers(0, 5, (map_size, map_size))
    lights = np.linspace(1.0, 0.6, light_levels)
    pos = np.array([map_size // 2, map_size // 2])
    frames = np.zeros((n, 3, 63, 63), np.float32)
    for i in range(n):
        pos = np.clip(pos + rng.integers(-1, 2, 2), 4, map_size - 5)
        light = lights[(i // 25) % light_levels]
        for a in range(9):
            for b in range(9):
                patch = _tile_patch(int(world[pos[0] - 4 + a, pos[1] - 4 + b]), light)
                if a == 4 and b == 4:
                    patch = patch.copy()
                    patch[:, 3, 1:6] = [[0.9], [0.1], [0.1]]
                    patch[:, 1:6, 3] = [[0.9], [0.1], [0.1]]
                frames[i, :, a * 7:(a + 1) * 7, b * 7:(b + 1) * 7] = patch
    if noise > 0:
        frames = np.clip(frames + rng.normal(0, noise, frames.shape), 0, 1).astype(np.float32)
    return frames


def byte_streams(
    n_bytes: int = 20000, *, lexicon_size: int = 64, seed: int = 0, lexicon_seed: int = 1234
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Text-like bytes: Zipf-distributed words from a lexicon of pronounceable words (2–4 syllables),
    separated by a space (sometimes ', ' or '. '). Returns bytes (n,) uint8, boundaries (n,) uint8
    with 1 at the first byte of every word and of every separator run, and the lexicon.

    The lexicon depends only on `lexicon_seed`, so train and test streams share vocabulary."""
    if n_bytes < 10:
        raise ConfigError(f"byte_streams needs n_bytes >= 10, got {n_bytes}")
    lrng = _rng(lexicon_seed)
    cons, vows = "bcdfghklmnprstvz", "aeiou"
    lexicon: list[str] = []
    while len(lexicon) < lexicon_size:
        w = "".join(cons[lrng.integers(len(cons))] + vows[lrng.integers(len(vows))] for _ in range(lrng.integers(1, 4)))
        if lrng.uniform() < 0.4:
            w += cons[lrng.integers(len(cons))]
        if w not in lexicon:
            lexicon.append(w)
    rng = _rng(seed)
    p = 1.0 / np.arange(1, lexicon_size + 1) ** 1.1
    p /= p.sum()
    out, bnd = bytearray(), []
    while len(out) < n_bytes:
        w = lexicon[rng.choice(lexicon_size, p=p)].encode()
        out += w
        bnd += [1] + [0] * (len(w) - 1)
        u = rng.uniform()
        sep = b", " if u < 0.05 else b". " if u < 0.08 else b" "
        out += sep
        bnd += [1] + [0] * (len(sep) - 1)
    return np.frombuffer(bytes(out[:n_bytes]), np.uint8).copy(), np.array(bnd[:n_bytes], np.uint8), lexicon


_PART_PALETTE = np.array([[1.0, 0.1, 0.1], [0.1, 0.9, 0.1], [0.15, 0.3, 1.0], [1.0, 0.9, 0.1],
                          [0.9, 0.1, 0.9], [0.1, 0.9, 0.9], [1.0, 0.55, 0.0], [1.0, 1.0, 1.0]], np.float32)


def part_objects(
    n: int = 300, *, size: int = 64, parts: int = 4, min_radius: float = 1.5, max_radius: float = 22.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One multi-part object per RGB image, at log-uniform sizes (for object tokenizers, e.g. SAOT).

    The object is a disc of radius r ∈ [min_radius, max_radius] px (log-uniform), cut into `parts`
    angular sectors, each painted a distinct saturated colour of an 8-colour palette; the background is
    a smooth dark random texture (values ≤ 0.45) with pixel noise. Returns images (n, 3, size, size) in
    [0, 1], masks (n, size, size) bool, part colours (n, parts, 3) — the "features" an object token
    should keep — and the mask area in pixels (n,)."""
    if parts > len(_PART_PALETTE):
        raise ConfigError(f"part_objects supports at most {len(_PART_PALETTE)} parts, got {parts}")
    rng = _rng(seed)
    yy, xx = np.meshgrid(np.arange(size, dtype=np.float32) + 0.5, np.arange(size, dtype=np.float32) + 0.5, indexing="ij")
    imgs = np.zeros((n, 3, size, size), np.float32)
    msk = np.zeros((n, size, size), bool)
    cols = np.zeros((n, parts, 3), np.float32)
    pos = np.clip((np.arange(size) + 0.5) / size * 4 - 0.5, 0, 3)
    interp = np.maximum(0, 1 - np.abs(pos[:, None] - np.arange(4)[None])).astype(np.float32)
    for i in range(n):
        low = rng.uniform(0.05, 0.35, (3, 4, 4)).astype(np.float32)
        bg = np.einsum("yi,cij,xj->cyx", interp, low, interp)  # bilinear upsampling: a smooth texture
        bg = np.clip(bg + rng.normal(0, 0.03, bg.shape), 0, 0.45)
        r = float(np.exp(rng.uniform(math.log(min_radius), math.log(max_radius))))
        cy, cx = rng.uniform(r + 1, size - r - 1, 2)
        m = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        if not m.any():  # radius below half a pixel at this centre: paint the centre pixel
            m[int(cy), int(cx)] = True
        sector = (((np.arctan2(yy - cy, xx - cx) + math.pi + rng.uniform(0, 2 * math.pi)) % (2 * math.pi))
                  / (2 * math.pi) * parts).astype(int) % parts
        cols[i] = _PART_PALETTE[rng.choice(len(_PART_PALETTE), parts, replace=False)]
        img = bg.copy()
        for j in range(parts):
            sel = m & (sector == j)
            img[:, sel] = cols[i, j][:, None]
        imgs[i], msk[i] = img, m
    return imgs, msk, cols, msk.reshape(n, -1).sum(1).astype(np.float32)
