"""Rasterisation of a synthetic scene with OpenCV: every shape is painted into a label map
(uint16: person and sub-part, or occluder) in back-to-front order; the picture is the label
map looked up in a colour palette over a procedural background, with outlines, lighting, blur
and noise on top. Because colours come from the labels, the label map is exactly what the
picture shows: it gives visibility, masks, boxes and areas."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry3d import Capsule, Ellipsoid, Hull, Stroke, WeightedChoice
from .parts import NUM_LABELS, NUM_SUBPARTS, SUBPART_ROLES, person_label

SHIFT = 3                      # sub-pixel bits of OpenCV drawing coordinates
_ONE = 1 << SHIFT
FACING = 0.05                  # a surface normal faces the camera when its z exceeds this


@dataclass
class Camera:
    """Orthographic view of one person: rotation (person frame -> view: X right, Y up, Z towards
    the camera), pixels per body-height unit and the image position of the person's origin."""

    rotation: np.ndarray
    scale: float
    offset: np.ndarray        # (2,) image position of the pelvis

    def view(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=np.float64) @ self.rotation.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) image coordinates (x right, y down) of (N, 3) person-frame points."""
        v = self.view(points)
        image = v[:, :2] * (self.scale, -self.scale)
        image += self.offset
        return image

    def facing(self, normals: np.ndarray) -> np.ndarray:
        return self.view(normals)[..., 2] > FACING


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _disc(labels: np.ndarray, x: float, y: float, radius: float, value: int) -> None:
    cv2.circle(labels, (int(x * _ONE + 0.5), int(y * _ONE + 0.5)), int(max(radius, 0.5) * _ONE + 0.5), value, -1,
               cv2.LINE_8, SHIFT)


def _convex(labels: np.ndarray, points: np.ndarray, value: int, pad: float = 0.5) -> None:
    """Fill the convex hull of 2D points, grown by `pad` pixels so that the points themselves are
    inside whatever the rasteriser rounds."""
    hull = cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    if len(hull) < 3:
        for x, y in points:
            _disc(labels, x, y, pad, value)
        return
    away = hull - hull.mean(axis=0)
    hull += pad * away / np.maximum(np.sqrt((away * away).sum(axis=1, keepdims=True)), 1e-6)
    cv2.fillConvexPoly(labels, _fixed(hull), value, cv2.LINE_8, SHIFT)


def _capsule(labels: np.ndarray, ax: float, ay: float, bx: float, by: float, ra: float, rb: float, value: int) -> None:
    dx, dy = bx - ax, by - ay
    length = (dx * dx + dy * dy) ** 0.5
    if length > 1e-3:
        nx, ny = -dy / length, dx / length
        quad = np.array([[ax + nx * ra, ay + ny * ra], [bx + nx * rb, by + ny * rb],
                         [bx - nx * rb, by - ny * rb], [ax - nx * ra, ay - ny * ra]])
        cv2.fillConvexPoly(labels, _fixed(quad), value, cv2.LINE_8, SHIFT)
    _disc(labels, ax, ay, ra, value)
    _disc(labels, bx, by, rb, value)


def _ellipse(labels: np.ndarray, centre: np.ndarray, axes2d: np.ndarray, value: int) -> None:
    """Fill the orthographic projection of an ellipsoid whose semi-axes, projected to the image,
    are the columns of `axes2d` (2x3): the ellipse {M u : |u| <= 1}, i.e. axes and angle from the
    eigen-decomposition of M M^T."""
    (a, b), (_, c) = axes2d @ axes2d.T
    mean, spread = (a + c) / 2.0, (((a - c) / 2.0) ** 2 + b * b) ** 0.5
    major, minor = max(mean + spread, 0.0) ** 0.5, max(mean - spread, 0.0) ** 0.5
    angle = 0.5 * np.degrees(np.arctan2(2.0 * b, a - c))
    cv2.ellipse(labels, (int(centre[0] * _ONE + 0.5), int(centre[1] * _ONE + 0.5)),
                (int(max(major, 0.5) * _ONE + 0.5), int(max(minor, 0.5) * _ONE + 0.5)), float(angle), 0.0, 360.0,
                value, -1, cv2.LINE_8, SHIFT)


def draw_person(labels: np.ndarray, primitives: list, camera: Camera, person: int) -> None:
    """Paint one person's primitives back to front (painter's algorithm on each primitive's mean
    depth). The torso counts as slightly further away than its centre so that limbs beside it
    are painted over it. All points are projected in one go (this runs for every person)."""
    chunks = [primitive.points for primitive in primitives]
    counts = np.array([len(chunk) for chunk in chunks])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    view = np.concatenate(chunks) @ camera.rotation.T
    image = view[:, :2] * (camera.scale, -camera.scale)
    image += camera.offset
    depth = -np.add.reduceat(view[:, 2], starts) / counts
    strokes = [i for i, p in enumerate(primitives) if isinstance(p, Stroke) and p.normals is not None]
    facing = {}
    if strokes:
        shown = camera.facing(np.concatenate([primitives[i].normals for i in strokes]))
        offsets = np.cumsum([0] + [counts[i] for i in strokes])
        facing = {i: shown[offsets[j]:offsets[j + 1]] for j, i in enumerate(strokes)}
    for i, primitive in enumerate(primitives):
        if isinstance(primitive, Hull) and primitive.sub == 0:
            depth[i] += 0.04
    s = camera.scale
    for i in np.argsort(-depth, kind="stable"):
        primitive = primitives[i]
        value = person_label(person, primitive.sub)
        points = image[starts[i]:starts[i] + counts[i]]
        if isinstance(primitive, Capsule):
            (ax, ay), (bx, by) = points.tolist()
            _capsule(labels, ax, ay, bx, by, max(primitive.ra * s, 0.5), max(primitive.rb * s, 0.5), value)
        elif isinstance(primitive, Hull):
            _convex(labels, points, value)
        elif isinstance(primitive, Ellipsoid):
            view_axes = camera.rotation @ primitive.axes        # columns: semi-axes in the view frame
            _ellipse(labels, points[0], np.array([view_axes[0], -view_axes[1]]) * s, value)
        else:
            shown = facing.get(i)
            width = primitive.width * s
            if len(points) == 1:
                if shown is None or shown[0]:
                    _disc(labels, points[0, 0], points[0, 1], width, value)
            elif primitive.filled:
                if shown is None or shown.all():
                    cv2.fillPoly(labels, [_fixed(points)], value, cv2.LINE_8, SHIFT)
                    cv2.polylines(labels, [_fixed(points)], True, value, 1, cv2.LINE_8, SHIFT)
            elif shown is None or shown.all():
                cv2.polylines(labels, [_fixed(points)], primitive.closed, value, max(1, int(2 * width + 0.5)),
                              cv2.LINE_8, SHIFT)
            else:
                fixed = _fixed(points)
                thickness = max(1, int(2 * width + 0.5))
                for k in np.flatnonzero(shown[:-1] & shown[1:]):
                    cv2.line(labels, tuple(fixed[k, 0]), tuple(fixed[k + 1, 0]), value, thickness, cv2.LINE_8, SHIFT)


# --------------------------------------------------------------------------- colours

_SKIN_TONES = np.array([[224, 232, 255], [189, 208, 241], [150, 185, 224], [110, 150, 198], [80, 115, 160],
                        [55, 80, 120], [40, 58, 88]], dtype=np.float64)  # BGR, light to dark
_HAIR = np.array([[20, 20, 25], [30, 45, 70], [40, 70, 110], [90, 150, 200], [40, 60, 150], [170, 170, 175],
                  [60, 60, 60]], dtype=np.float64)


def random_colour(rng: np.random.Generator, saturation=(0.0, 1.0), value=(0.1, 1.0)) -> np.ndarray:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*saturation) * 255, rng.uniform(*value) * 255]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float64)


def sample_appearance(rng: np.random.Generator) -> dict:
    """Colours per role (BGR) and clothing choices of one person."""
    t = rng.uniform(0, len(_SKIN_TONES) - 1)
    i = int(t)
    skin = _SKIN_TONES[i] * (1 - (t - i)) + _SKIN_TONES[min(i + 1, len(_SKIN_TONES) - 1)] * (t - i)
    skin = np.clip(skin * rng.uniform(0.9, 1.08), 0, 255)
    hair = np.clip(_HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.8, 1.2), 0, 255)
    top = random_colour(rng)
    bottom = random_colour(rng, value=(0.1, 0.8))
    long_sleeves = rng.random() < 0.5
    long_pants = rng.random() < 0.75
    colours = {
        "skin": skin, "skin_shade": skin * 0.8, "hair": hair, "brow": hair * 0.8,
        "top": top, "sleeve": top if rng.random() < 0.75 else skin,
        "forearm": top if long_sleeves else skin, "bottom": bottom, "shin": bottom if long_pants else skin,
        "shoe": random_colour(rng, value=(0.05, 0.9)), "eye_white": np.full(3, rng.uniform(200, 250)),
        "iris": random_colour(rng, saturation=(0.2, 0.8), value=(0.1, 0.45)),
        "lips": np.clip(skin * 0.45 + np.array([60.0, 50.0, 190.0]) * 0.55, 0, 255), "mouth": np.array([30.0, 20.0, 90.0]),
    }
    return {"colours": colours, "long_hair": bool(rng.random() < 0.3)}


def person_palette(appearance: dict, rng: np.random.Generator) -> np.ndarray:
    """(NUM_SUBPARTS, 3) colours; sub-parts of one role differ slightly so that, with the
    outlines, fingers and limbs stay distinguishable."""
    colours = appearance["colours"]
    shades = rng.uniform(0.93, 1.07, NUM_SUBPARTS)
    return np.clip([colours[role] * shade for role, shade in zip(SUBPART_ROLES, shades)], 0, 255)


# --------------------------------------------------------------------------- backgrounds

def value_noise(rng: np.random.Generator, shape: tuple[int, int], octaves: int = 4, base: int = 4) -> np.ndarray:
    """Smooth random texture in [0, 1]: random grids of growing resolution summed at a quarter of
    the size, then upsampled once (the finest detail comes from the sensor noise later)."""
    h, w = shape
    sh, sw = max(8, h // 4), max(8, w // 4)
    out = np.zeros((sh, sw), np.float32)
    weight, total = 1.0, 0.0
    for o in range(octaves):
        cells = base * 2 ** o
        grid = rng.random((max(2, cells * h // max(h, w)), max(2, cells * w // max(h, w))), dtype=np.float32)
        out += np.float32(weight) * cv2.resize(grid, (sw, sh), interpolation=cv2.INTER_LINEAR if o else cv2.INTER_CUBIC)
        total += weight
        weight *= rng.uniform(0.4, 0.65)
    out = cv2.normalize(out, None, 0.0, 1.0, cv2.NORM_MINMAX)
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


def _colour_map(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blend two random colours by t in [0, 1] (per channel: broadcasting over a trailing axis of
    3 is several times slower in NumPy)."""
    a, b = random_colour(rng), random_colour(rng)
    return cv2.merge([t * float(b[c] - a[c]) + float(a[c]) for c in range(3)])


BACKGROUNDS = WeightedChoice(range(4), (0.35, 0.25, 0.25, 0.15))


def background(rng: np.random.Generator, width: int, height: int, kinds: WeightedChoice = BACKGROUNDS,
               clutter_prob: float = 0.6, plain_amplitude: tuple[float, float] = (10.0, 60.0)) -> np.ndarray:
    """A procedural background: smooth noise (0), stripes/checks (1), a wall-and-floor room (2) or
    one colour with faint noise (3, of `plain_amplitude`); with clutter (boxes, poles, discs) in
    front at `clutter_prob`. A difficulty preset picks `kinds` and the two numbers."""
    kind = kinds(rng)
    if kind == 0:
        image = _colour_map(value_noise(rng, (height, width), octaves=int(rng.integers(3, 6))), rng)
    elif kind == 1:
        y, x = np.arange(height, dtype=np.float32)[:, None], np.arange(width, dtype=np.float32)[None, :]
        angle = rng.uniform(0, np.pi)
        period = np.float32(rng.uniform(6, 40))
        c, s = np.float32(np.cos(angle) / period), np.float32(np.sin(angle) / period)
        stripes = np.floor(x * c + y * s).astype(np.int32)
        if rng.random() < 0.5:  # checks
            stripes += np.floor(y * c - x * s).astype(np.int32)
        t = (stripes & 1).astype(np.float32) * np.float32(0.8) + np.float32(0.2) * value_noise(rng, (height, width))
        image = _colour_map(t, rng)
    elif kind == 2:
        horizon = int(rng.uniform(0.3, 0.8) * height)
        image = _colour_map(value_noise(rng, (height, width), octaves=3), rng)
        floor = _colour_map(value_noise(rng, (height, width), octaves=5, base=8), rng)
        image[horizon:] = floor[horizon:]
    else:
        colour, amplitude = random_colour(rng), rng.uniform(*plain_amplitude)
        t = value_noise(rng, (height, width)) - np.float32(0.5)
        image = cv2.merge([t * amplitude + float(c) for c in colour])
    if rng.random() < clutter_prob:
        clutter(image, rng, int(rng.integers(2, 12)))
    return np.clip(image, 0, 255).astype(np.uint8)


def clutter(image: np.ndarray, rng: np.random.Generator, count: int) -> None:
    h, w = image.shape[:2]
    for _ in range(count):
        colour = tuple(float(c) for c in random_colour(rng))
        kind = rng.integers(3)
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        size = rng.uniform(0.05, 0.4) * min(w, h)
        if kind == 0:
            x2, y2 = x + size * rng.uniform(0.3, 2.0), y + size * rng.uniform(0.3, 2.0)
            cv2.rectangle(image, (int(x), int(y)), (int(x2), int(y2)), colour, -1)
        elif kind == 1:
            angle = rng.uniform(0, np.pi)
            dx, dy = np.cos(angle) * size * 2, np.sin(angle) * size * 2
            cv2.line(image, (int(x - dx), int(y - dy)), (int(x + dx), int(y + dy)), colour, int(rng.integers(1, 8)))
        else:
            cv2.circle(image, (int(x), int(y)), int(size * 0.5), colour, -1)


# --------------------------------------------------------------------------- occluders

def draw_occluder(labels: np.ndarray, rng: np.random.Generator, centre: np.ndarray, size: float, value: int,
                  stripe_value: int | None) -> None:
    """A box, disc, pole or blob in front of (part of) a person; optionally striped."""
    kind = rng.integers(4)
    angle = rng.uniform(0, np.pi)
    if kind == 0:
        w, h = size * rng.uniform(0.4, 1.0), size * rng.uniform(0.4, 1.0)
        box = cv2.boxPoints(((float(centre[0]), float(centre[1])), (float(w), float(h)), float(np.degrees(angle))))
        cv2.fillConvexPoly(labels, _fixed(box), value, cv2.LINE_8, SHIFT)
    elif kind == 1:
        _disc(labels, float(centre[0]), float(centre[1]), size * 0.4, value)
    elif kind == 2:
        d = np.array([np.cos(angle), np.sin(angle)]) * size
        cv2.line(labels, tuple(_fixed(centre - d)[0, 0]), tuple(_fixed(centre + d)[0, 0]), value,
                 max(1, int(size * rng.uniform(0.08, 0.25))), cv2.LINE_8, SHIFT)
    else:
        n = int(rng.integers(5, 9))
        radii = size * rng.uniform(0.25, 0.55, n)
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        blob = centre + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], axis=1)
        cv2.fillPoly(labels, [_fixed(blob)], value, cv2.LINE_8, SHIFT)
    if stripe_value is not None:  # stripes in a second colour, only over the occluder itself
        mask = labels == value
        y, x = np.nonzero(mask)
        if len(x):
            period = max(3.0, size * rng.uniform(0.1, 0.3))
            on = ((x * np.cos(angle) + y * np.sin(angle)) // period) % 2 == 0
            labels[y[on], x[on]] = stripe_value


# --------------------------------------------------------------------------- finishing

def _packed(palette: np.ndarray) -> np.ndarray:
    """BGR colours as one uint32 each (B, G, R, 0 in memory order), for a 1D lookup."""
    bgr = np.clip(palette, 0, 255).astype(np.uint8)
    return np.concatenate([bgr, np.zeros((len(bgr), 1), np.uint8)], axis=1).view(np.uint32).reshape(-1)


def compose(labels: np.ndarray, palette: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """The clean picture: palette colours over the background, shapes outlined where the label
    changes (outline pixels stay on the shape that owns them, only darker)."""
    h, w = labels.shape
    edge = np.zeros((h, w), bool)
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edge[:-1] |= labels[:-1] != labels[1:]
    edge[1:] |= labels[1:] != labels[:-1]
    index = labels.astype(np.int32)
    index[edge] += len(palette)
    colours = np.take(_packed(np.concatenate([palette, palette * 0.62])), index).view(np.uint8).reshape(h, w, 4)
    image = backdrop.copy()
    cv2.copyTo(cv2.cvtColor(colours, cv2.COLOR_BGRA2BGR), (labels > 0).view(np.uint8), image)
    return image


@dataclass(frozen=True)
class Effects:
    """How strong `finish` is: Gaussian blur when a draw is below `gaussian_until` (sigma up to
    `sigma_max`), motion blur below `motion_until`, sensor noise of `noise` amplitude."""

    gaussian_until: float = 0.25
    motion_until: float = 0.4
    sigma_max: float = 1.6
    noise: tuple[float, float] = (2.0, 10.0)


def finish(image: np.ndarray, rng: np.random.Generator, effects: Effects = Effects()) -> np.ndarray:
    """Lighting gradient, blur (Gaussian or motion) and sensor noise."""
    h, w = image.shape[:2]
    out = image.astype(np.float32)
    if rng.random() < 0.7:
        gx, gy = (float(v) for v in rng.uniform(-0.5, 0.5, 2))
        xs = (gx * (np.arange(w, dtype=np.float32) / w - 0.5))[None, :]
        ys = (gy * (np.arange(h, dtype=np.float32) / h - 0.5))[:, None]
        light = np.float32(rng.uniform(0.75, 1.2)) + xs + ys
        out = cv2.multiply(out, cv2.merge([light, light, light]))
    roll = rng.random()
    if roll < effects.gaussian_until:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, effects.sigma_max))
    elif roll < effects.motion_until:
        length = int(rng.integers(3, 10))
        kernel = np.zeros((length, length), np.float32)
        angle = rng.uniform(0, np.pi)
        c = (length - 1) / 2
        d = np.array([np.cos(angle), np.sin(angle)]) * c
        cv2.line(kernel, (int(round(c - d[0])), int(round(c - d[1]))), (int(round(c + d[0])), int(round(c + d[1]))), 1.0, 1)
        out = cv2.filter2D(out, -1, kernel / kernel.sum())
    if rng.random() < 0.6:
        dy, dx = (int(v) for v in rng.integers(0, _NOISE_MARGIN, 2))
        noise = _noise_bank(h, w)[dy:dy + h, dx:dx + w]
        out = cv2.scaleAdd(noise, float(rng.uniform(*effects.noise)), out)
    return np.clip(out, 0, 255).astype(np.uint8)


_NOISE_MARGIN = 64
_NOISE_BANKS: dict[tuple[int, int], np.ndarray] = {}


def _noise_bank(h: int, w: int) -> np.ndarray:
    """Unit Gaussian noise, a little larger than the image, drawn once per process from a fixed
    seed (each image takes a random window of it: cheap, and the same in every process)."""
    bank = _NOISE_BANKS.get((h, w))
    if bank is None:
        bank = np.random.default_rng(20231).standard_normal((h + _NOISE_MARGIN, w + _NOISE_MARGIN, 3), np.float32)
        _NOISE_BANKS[(h, w)] = bank
    return bank


def empty_palette() -> np.ndarray:
    return np.zeros((NUM_LABELS, 3), np.float32)
