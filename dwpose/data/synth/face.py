"""The 68 face landmarks in the iBUG 300-W layout (COCO-WholeBody's `face_kpts`), as a 3D
template on the front of the head ellipsoid.

Head-local frame: X = the person's left, Y = up, Z = forward (out of the face); unit = the head's
half width. Layout (0-based): 0-16 jaw from the person's right ear level over the chin (8) to the
left; 17-21 right brow, 22-26 left brow (outer to inner / inner to outer, i.e. image left to right
on a frontal face); 27-30 nose bridge down to the tip; 31-35 nostrils; 36-41 right eye and 42-47
left eye (corner, upper lid, corner, lower lid); 48-59 outer lips from the right corner; 60-67
inner lips. On a frontal face, point 0 and the right eye are on the image left."""

from __future__ import annotations

import numpy as np

# Head ellipsoid radii (x, y, z) in units of the half width; the template sits on its front.
HEAD_RADII = np.array([1.0, 1.28, 1.12])
# Where the face features sit: a fraction of the way from the centre to the surface, so that
# their projection always lies inside the drawn head.
_INSET = 0.97


def _jaw() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 17)
    x = -0.9 * np.cos(np.pi * t)
    y = 0.05 - 1.0 * np.sin(np.pi * t) ** 0.85
    return np.stack([x, y], axis=1)


def _eye(centre_x: float) -> np.ndarray:
    """6 points, image left to right on a frontal face as iBUG orders them: corner, upper lid
    (2), corner, lower lid (2). For the right eye the first corner is the outer one, for the left
    eye the inner one, which is what makes the two layouts mirror images of each other."""
    xs = np.array([-1.0, -0.35, 0.35, 1.0, 0.35, -0.35]) * 0.17
    ys = 0.08 + np.array([0.0, 0.065, 0.065, 0.0, -0.05, -0.05])
    return np.stack([centre_x + xs, ys], axis=1)


def _neutral_template() -> np.ndarray:
    jaw = _jaw()
    brow_x = np.linspace(-0.78, -0.16, 5)
    brow_y = 0.27 + 0.07 * np.sin(np.linspace(0.2, np.pi - 0.6, 5))
    right_brow = np.stack([brow_x, brow_y], axis=1)
    left_brow = np.stack([-brow_x[::-1], brow_y[::-1]], axis=1)
    bridge = np.stack([np.zeros(4), np.array([0.15, 0.02, -0.11, -0.25])], axis=1)
    nostrils = np.stack([np.array([-0.18, -0.09, 0.0, 0.09, 0.18]), np.array([-0.33, -0.36, -0.37, -0.36, -0.33])], 1)
    outer = np.array([[-0.33, -0.58], [-0.2, -0.52], [-0.08, -0.49], [0.0, -0.505], [0.08, -0.49], [0.2, -0.52],
                      [0.33, -0.58], [0.2, -0.66], [0.08, -0.69], [0.0, -0.70], [-0.08, -0.69], [-0.2, -0.66]])
    inner = np.array([[-0.25, -0.58], [-0.1, -0.565], [0.0, -0.57], [0.1, -0.565], [0.25, -0.58], [0.1, -0.6],
                      [0.0, -0.605], [-0.1, -0.6]])
    return np.concatenate([jaw, right_brow, left_brow, bridge, nostrils, _eye(-0.4), _eye(0.4), outer, inner])


_NEUTRAL = _neutral_template()
_NEUTRAL.setflags(write=False)


def frontal_template(rng: np.random.Generator | None = None) -> np.ndarray:
    """(68, 2) landmark (x, y) on a frontal face; with `rng`, an individual face with an
    expression (brows, smile, open mouth) and proportions varied."""
    if rng is None:
        return _NEUTRAL.copy()
    points = _NEUTRAL.copy()
    brows, smile, opening, open_mouth, jaw_width, chin = rng.random(6)
    points[17:27, 1] += -0.04 + 0.12 * brows                          # brows raised / lowered
    points[[48, 54, 60, 64], 1] += -0.03 + 0.1 * smile                 # mouth corners
    opening = 0.14 * opening if open_mouth < 0.4 else 0.0
    points[55:60, 1] -= opening                                        # lower lip
    points[65:68, 1] -= opening * 0.9                                  # inner lower lip
    points[:17, 0] *= 0.9 + 0.15 * jaw_width                           # jaw width
    points[5:12, 1] -= -0.03 + 0.09 * chin                             # chin length
    return points


def on_head_surface(template_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3D head-local positions (inset under the ellipsoid surface) and surface normals of
    frontal landmarks; the nose rises above the surface."""
    rx, ry, rz = HEAD_RADII
    x, y = template_xy[:, 0], template_xy[:, 1]
    inside = np.clip(1.0 - (x / rx) ** 2 - (y / ry) ** 2, 0.0, None)
    z = rz * np.sqrt(inside)
    surface = np.stack([x, y, z], axis=1)
    normals = surface / HEAD_RADII ** 2
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    points = surface * _INSET
    points[27:31, 2] += np.array([0.05, 0.12, 0.2, 0.3])              # nose bridge and tip stand out
    points[31:36, 2] += np.array([0.05, 0.1, 0.14, 0.1, 0.05])
    return points, normals
