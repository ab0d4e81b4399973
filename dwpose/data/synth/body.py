"""An articulated 3D person: body proportions, a pose sampled within human joint limits, and
the 133 COCO-WholeBody keypoints with the filled shapes that show them.

Person frame: X = the person's anatomical left, Y = up, Z = forward (where the person faces);
unit = body height; the pelvis centre is the origin. The camera (scene.py) rotates this frame,
so a front view puts the person's left on the image right and a back view swaps it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...skeleton import NUM_KEYPOINTS, PARTS
from .face import HEAD_RADII, frontal_template, on_head_surface
from .geometry3d import DEG, Capsule, Ellipsoid, Hull, Stroke, WeightedChoice, cross, rot_x, rot_y, rot_z, rotate_about
from .hand import build_hand, sample_curls
from .parts import SUB

# Joint limits in degrees (a neutral standing pose is 0 everywhere except the forearm, which is
# supinated at 0 and pronated at 180).
JOINT_LIMITS_DEG: dict[str, tuple[float, float]] = {
    "hip_flexion": (-20.0, 120.0), "hip_abduction": (-10.0, 45.0), "hip_rotation": (-30.0, 40.0),
    "knee_flexion": (0.0, 140.0), "ankle_flexion": (-20.0, 45.0),
    "shoulder_flexion": (-40.0, 170.0), "shoulder_abduction": (-10.0, 160.0), "shoulder_rotation": (-60.0, 80.0),
    "elbow_flexion": (0.0, 150.0), "forearm_pronation": (-20.0, 170.0),
    "wrist_flexion": (-60.0, 70.0), "wrist_deviation": (-15.0, 25.0),
    "torso_lean": (-15.0, 45.0), "torso_twist": (-35.0, 35.0), "torso_side_bend": (-20.0, 20.0),
    "head_yaw": (-60.0, 60.0), "head_pitch": (-30.0, 30.0), "head_roll": (-20.0, 20.0),
}

# Level of detail, in pixels: below these a face is drawn without features and a hand as a mitten;
# the scene does not label faces and hands that small either.
FACE_DETAIL_PX = 8.0       # face width
FINGER_DETAIL_PX = 8.0     # hand length

LEG_STYLES = WeightedChoice(("stand", "walk", "sit", "crouch", "free"), (0.35, 0.25, 0.15, 0.1, 0.15))
ARM_STYLES = WeightedChoice(("down", "front", "raised", "akimbo", "free"), (0.3, 0.25, 0.15, 0.1, 0.2))


@dataclass
class Person3D:
    """A posed person in its own frame (see the module docstring)."""

    keypoints: np.ndarray                      # (133, 3)
    normals: np.ndarray                        # (133, 3); zero where no self-occlusion test applies
    primitives: list = field(default_factory=list)
    head_forward: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    head_size: float = 0.0                     # head half width
    hand_length: float = 0.0
    appearance: dict = field(default_factory=dict)
    pose: dict = field(default_factory=dict)   # sampled joint angles (degrees), for checks


# Fixed joint angles for every person sampled inside `fixed_joints` (tests, debugging).
_FIXED: dict[str, float] = {}


def _joint_angle(rng: np.random.Generator, low: float, high: float, joint: str) -> float:
    """An angle of `joint` drawn uniformly from [low, high), replaced by its `fixed_joints`
    value if any, clamped to the joint's limits (the draw happens either way)."""
    lo, hi = JOINT_LIMITS_DEG[joint]
    value = float(rng.uniform(low, high))
    return min(max(_FIXED.get(joint, value), lo), hi)


class fixed_joints:
    """Context manager: people sampled inside it take the given joint angles (degrees; names of
    JOINT_LIMITS_DEG), e.g. a neutral head for a frontal face. Random draws are unchanged."""

    def __init__(self, **angles: float) -> None:
        unknown = set(angles) - set(JOINT_LIMITS_DEG)
        if unknown:
            raise KeyError(f"unknown joints: {sorted(unknown)}")
        self.angles = angles

    def __enter__(self) -> "fixed_joints":
        self.saved = dict(_FIXED)
        _FIXED.update(self.angles)
        return self

    def __exit__(self, *exc) -> None:
        _FIXED.clear()
        _FIXED.update(self.saved)


def sample_leg_angles(rng: np.random.Generator, style: str, first: bool) -> dict[str, float]:
    u = lambda lo, hi, joint: _joint_angle(rng, lo, hi, joint)  # noqa: E731
    if style == "stand":
        angles = dict(hip_flexion=u(-8, 20, "hip_flexion"), hip_abduction=u(-5, 15, "hip_abduction"),
                      knee_flexion=u(0, 25, "knee_flexion"))
    elif style == "walk":
        angles = (dict(hip_flexion=u(10, 40, "hip_flexion"), knee_flexion=u(0, 35, "knee_flexion")) if first else
                  dict(hip_flexion=u(-20, 0, "hip_flexion"), knee_flexion=u(10, 70, "knee_flexion")))
        angles["hip_abduction"] = u(-3, 8, "hip_abduction")
    elif style == "sit":
        angles = dict(hip_flexion=u(70, 105, "hip_flexion"), hip_abduction=u(0, 30, "hip_abduction"),
                      knee_flexion=u(60, 120, "knee_flexion"))
    elif style == "crouch":
        angles = dict(hip_flexion=u(60, 120, "hip_flexion"), hip_abduction=u(0, 35, "hip_abduction"),
                      knee_flexion=u(95, 140, "knee_flexion"))
    else:
        angles = {j: u(*JOINT_LIMITS_DEG[j], j) for j in ("hip_flexion", "hip_abduction", "knee_flexion")}
    angles["hip_rotation"] = u(-15, 35, "hip_rotation")
    angles["ankle_flexion"] = u(-15, 40, "ankle_flexion")
    return angles


def sample_arm_angles(rng: np.random.Generator, styles: WeightedChoice = ARM_STYLES) -> dict[str, float]:
    u = lambda lo, hi, joint: _joint_angle(rng, lo, hi, joint)  # noqa: E731
    style = styles(rng)
    if style == "down":
        angles = dict(shoulder_flexion=u(-15, 25, "shoulder_flexion"), shoulder_abduction=u(0, 25, "shoulder_abduction"),
                      shoulder_rotation=u(-20, 40, "shoulder_rotation"), elbow_flexion=u(0, 45, "elbow_flexion"))
    elif style == "front":
        angles = dict(shoulder_flexion=u(20, 100, "shoulder_flexion"), shoulder_abduction=u(-5, 40, "shoulder_abduction"),
                      shoulder_rotation=u(-30, 60, "shoulder_rotation"), elbow_flexion=u(30, 140, "elbow_flexion"))
    elif style == "raised":
        flexion_up = rng.random() < 0.5
        angles = dict(shoulder_flexion=u(60, 170, "shoulder_flexion") if flexion_up else u(-10, 30, "shoulder_flexion"),
                      shoulder_abduction=u(0, 40, "shoulder_abduction") if flexion_up else u(60, 160, "shoulder_abduction"),
                      shoulder_rotation=u(-40, 60, "shoulder_rotation"), elbow_flexion=u(0, 100, "elbow_flexion"))
    elif style == "akimbo":
        angles = dict(shoulder_flexion=u(-20, 10, "shoulder_flexion"), shoulder_abduction=u(25, 60, "shoulder_abduction"),
                      shoulder_rotation=u(30, 80, "shoulder_rotation"), elbow_flexion=u(80, 130, "elbow_flexion"))
    else:
        angles = {j: u(*JOINT_LIMITS_DEG[j], j)
                  for j in ("shoulder_flexion", "shoulder_abduction", "shoulder_rotation", "elbow_flexion")}
    angles["forearm_pronation"] = u(-20, 170, "forearm_pronation")
    angles["wrist_flexion"] = u(-50, 60, "wrist_flexion")
    angles["wrist_deviation"] = u(-15, 25, "wrist_deviation")
    return angles


def sample_shape(rng: np.random.Generator) -> dict[str, float]:
    """Body proportions in units of body height (children: larger heads, shorter limbs)."""
    child = rng.random() < 0.15
    girth = float(rng.uniform(0.8, 1.35))
    return dict(
        head=float(rng.uniform(0.066, 0.076) if child else rng.uniform(0.052, 0.064)),
        torso=float(rng.uniform(0.27, 0.31)), neck=float(rng.uniform(0.03, 0.05)),
        shoulder=float(rng.uniform(0.085, 0.115)), hip=float(rng.uniform(0.045, 0.06)),
        upper_arm=float(rng.uniform(0.16, 0.19)), forearm=float(rng.uniform(0.14, 0.16)),
        hand=float(rng.uniform(0.095, 0.112)), thigh=float(rng.uniform(0.22, 0.255)),
        shin=float(rng.uniform(0.22, 0.25)), foot=float(rng.uniform(0.13, 0.155)), girth=girth,
    )


_IDENTITY = np.eye(3)
_RING = np.stack([np.cos(np.linspace(0.0, 2.0 * np.pi, 10, endpoint=False)), np.zeros(10),
                  np.sin(np.linspace(0.0, 2.0 * np.pi, 10, endpoint=False))], axis=1)


def _ring(centre: np.ndarray, rotation: np.ndarray, half_width: float, half_depth: float) -> np.ndarray:
    """10 points of a horizontal ellipse (a torso cross-section)."""
    return centre + (_RING * [half_width, 0.0, half_depth]) @ rotation.T


_PELVIS = np.zeros(3)                  # the origin of the person frame


@dataclass
class _Build:
    """A person under construction: each step below fills in its part."""

    shape: dict[str, float]
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((NUM_KEYPOINTS, 3)))
    normals: np.ndarray = field(default_factory=lambda: np.zeros((NUM_KEYPOINTS, 3)))
    primitives: list = field(default_factory=list)
    pose: dict = field(default_factory=dict)


def sample_person(rng: np.random.Generator, appearance: dict, pixels_per_unit: float = float("inf"),
                  leg_styles: WeightedChoice = LEG_STYLES, arm_styles: WeightedChoice = ARM_STYLES) -> Person3D:
    """A random person (proportions, pose) in its own frame; `appearance` (colours, clothing)
    comes from the renderer and decides e.g. whether hair is long. `pixels_per_unit` (the body
    height in pixels) sets the level of detail: face features and separate fingers are only
    built when they are large enough to be labelled (drawing them smaller is wasted work).
    `leg_styles` and `arm_styles` choose the kinds of pose (a difficulty preset narrows them)."""
    # The steps draw their random numbers in this order; changing it changes every synth image.
    b = _Build(sample_shape(rng))
    leg_style = leg_styles(rng)
    torso_rot, neck_base = _build_torso(rng, b, seated=leg_style in ("sit", "crouch"))
    head_rot, head_centre = _build_head(rng, b, torso_rot, neck_base, appearance)
    forward = _build_face(rng, b, head_rot, head_centre, pixels_per_unit)
    for side_name in ("left", "right"):
        _build_arm(rng, b, side_name, torso_rot, neck_base, arm_styles, pixels_per_unit)
    for index, side_name in enumerate(("left", "right")):
        first = (index == 0) == (rng.random() < 0.5)
        _build_leg(rng, b, side_name, leg_style, first)
    return Person3D(keypoints=b.keypoints, normals=b.normals, primitives=b.primitives, head_forward=forward,
                    head_size=b.shape["head"], hand_length=b.shape["hand"], appearance=appearance, pose=b.pose)


def _build_torso(rng: np.random.Generator, b: _Build, seated: bool) -> tuple[np.ndarray, np.ndarray]:
    """Torso and pelvis; returns the torso rotation and the neck base."""
    shape, pose, g = b.shape, b.pose, b.shape["girth"]
    pose["torso_lean"] = _joint_angle(rng, 0, 40, "torso_lean") if seated else _joint_angle(rng, -12, 25, "torso_lean")
    pose["torso_twist"] = _joint_angle(rng, -30, 30, "torso_twist")
    pose["torso_side_bend"] = _joint_angle(rng, -15, 15, "torso_side_bend")
    torso_rot = rot_y(pose["torso_twist"] * DEG) @ rot_x(pose["torso_lean"] * DEG) @ rot_z(pose["torso_side_bend"] * DEG)
    neck_base = torso_rot @ np.array([0.0, shape["torso"], 0.0])
    depth = 0.07 * g
    rings = [
        _ring(neck_base + torso_rot @ np.array([0.0, -0.03, 0.0]), torso_rot, shape["shoulder"] + 0.03 * g, depth * 0.85),
        _ring(torso_rot @ np.array([0.0, 0.62 * shape["torso"], 0.0]), torso_rot, (shape["shoulder"] + 0.015) * g ** 0.5, depth),
        _ring(torso_rot @ np.array([0.0, 0.3 * shape["torso"], 0.0]), torso_rot, (shape["hip"] + 0.045) * g, depth),
        _ring(_PELVIS + np.array([0.0, -0.02, 0.0]), _IDENTITY, shape["hip"] + 0.055 * g, depth * 1.05),
    ]
    b.primitives.append(Hull(np.concatenate(rings), SUB["torso"]))
    return torso_rot, neck_base


def _build_head(rng: np.random.Generator, b: _Build, torso_rot: np.ndarray, neck_base: np.ndarray,
                appearance: dict) -> tuple[np.ndarray, np.ndarray]:
    """Neck, head and hair; returns the head rotation and centre."""
    shape, pose, g, primitives = b.shape, b.pose, b.shape["girth"], b.primitives
    pose["head_yaw"] = _joint_angle(rng, -60, 60, "head_yaw")
    pose["head_pitch"] = _joint_angle(rng, -25, 25, "head_pitch")
    pose["head_roll"] = _joint_angle(rng, -18, 18, "head_roll")
    head_rot = torso_rot @ rot_y(pose["head_yaw"] * DEG) @ rot_x(-pose["head_pitch"] * DEG) @ rot_z(pose["head_roll"] * DEG)
    r = shape["head"]
    neck_top = neck_base + torso_rot @ np.array([0.0, shape["neck"], 0.0])
    head_centre = neck_top + head_rot @ np.array([0.0, 1.05 * r, 0.05 * r])
    primitives.append(Capsule(neck_base - torso_rot @ np.array([0.0, 0.02, 0.0]), head_centre - head_rot @ np.array([0, 0.3 * r, 0.25 * r]),
                              0.032 * g ** 0.5, 0.028 * g ** 0.5, SUB["neck"]))
    head_axes = head_rot @ np.diag(HEAD_RADII * r)
    primitives.append(Ellipsoid(head_centre, head_axes, SUB["head"]))
    hair_axes = head_rot @ np.diag(HEAD_RADII * r * np.array([1.07, 1.05, 1.08]))
    primitives.append(Ellipsoid(head_centre + head_rot @ np.array([0.0, 0.2 * r, -0.22 * r]), hair_axes, SUB["hair"]))
    if appearance.get("long_hair"):
        back = head_rot @ np.array([0.0, 0.0, -1.0])
        primitives.append(Hull(np.array([head_centre + head_rot @ np.array([x * r, 0.6 * r, -0.5 * r]) for x in (-1.0, 1.0)]
                                        + [head_centre + head_rot @ np.array([x * r, -2.4 * r, -0.9 * r]) + 0.1 * r * back
                                           for x in (-1.05, 1.05)]), SUB["hair"]))
    return head_rot, head_centre


def _build_face(rng: np.random.Generator, b: _Build, head_rot: np.ndarray, head_centre: np.ndarray,
                pixels_per_unit: float) -> np.ndarray:
    """The 68 face points, nose, eyes and ears (and the face features when large enough to be
    seen); returns the direction the face looks in."""
    keypoints, normals, r = b.keypoints, b.normals, b.shape["head"]
    template = frontal_template(rng)
    face_local, face_normals_local = on_head_surface(template)
    face = head_centre + (face_local * r) @ head_rot.T
    face_normals = face_normals_local @ head_rot.T
    f0, f1 = PARTS["face"]
    keypoints[f0:f1] = face
    normals[f0:f1] = face_normals
    forward = head_rot @ np.array([0.0, 0.0, 1.0])
    keypoints[0] = face[30]                                          # nose tip
    normals[0] = forward
    keypoints[1], keypoints[2] = face[42:48].mean(axis=0), face[36:42].mean(axis=0)
    normals[1], normals[2] = face_normals[42:48].mean(axis=0), face_normals[36:42].mean(axis=0)
    for k, side in ((3, 1.0), (4, -1.0)):
        ear_local = np.array([side * 0.97, -0.08, -0.1])
        keypoints[k] = head_centre + head_rot @ (ear_local * r)
        normals[k] = head_rot @ np.array([side, 0.0, -0.1])
        b.primitives.append(Ellipsoid(keypoints[k] + head_rot @ np.array([side * 0.05 * r, 0.0, -0.05 * r]),
                                      head_rot @ np.diag([0.12 * r, 0.24 * r, 0.16 * r]), SUB["left_ear" if side > 0 else "right_ear"]))
    if 2.0 * r * pixels_per_unit >= FACE_DETAIL_PX:  # features of a smaller face would not show
        b.primitives += _face_features(face, face_normals, normals[1], normals[2], forward, r)
    return forward


def _face_features(face: np.ndarray, face_normals: np.ndarray, left_eye_normal: np.ndarray,
                   right_eye_normal: np.ndarray, forward: np.ndarray, r: float) -> list:
    """Jaw line, brows, eyes, irises, lips, mouth and nose of a face of head half width `r`."""
    line = 0.035 * r
    primitives = [
        Stroke(face[0:17], line, SUB["jaw_line"], normals=face_normals[0:17]),
        Stroke(face[17:22], 0.045 * r, SUB["right_brow"], normals=face_normals[17:22]),
        Stroke(face[22:27], 0.045 * r, SUB["left_brow"], normals=face_normals[22:27]),
        Stroke(face[36:42], line * 0.6, SUB["right_eye_white"], filled=True, closed=True, normals=face_normals[36:42]),
        Stroke(face[42:48], line * 0.6, SUB["left_eye_white"], filled=True, closed=True, normals=face_normals[42:48]),
        Stroke(face[48:60], line * 0.6, SUB["lips"], filled=True, closed=True, normals=face_normals[48:60]),
        Stroke(face[60:68], line * 0.4, SUB["mouth_inside"], filled=True, closed=True, normals=face_normals[60:68]),
        # The nose is a solid (not a stroke on the surface): in profile it stands out of the head.
        Hull(face[[27, 31, 33, 35, 30]], SUB["nose"]),
    ]
    for side, eye, normal in (("right", face[36:42], right_eye_normal), ("left", face[42:48], left_eye_normal)):
        centre = eye.mean(axis=0) + forward * 0.03 * r
        primitives.append(Stroke(centre[None], 0.055 * r, SUB[f"{side}_iris"], normals=normal[None]))
    return primitives


# Per side: the sign of the person-frame X axis and the body keypoints of the arm and the leg.
_SIDES = {"left": (1.0, (5, 7, 9), (11, 13, 15)), "right": (-1.0, (6, 8, 10), (12, 14, 16))}


def _build_arm(rng: np.random.Generator, b: _Build, side_name: str, torso_rot: np.ndarray, neck_base: np.ndarray,
               arm_styles: WeightedChoice, pixels_per_unit: float) -> None:
    """One arm with its hand (separate fingers when the hand is large enough to be labelled)."""
    shape, g = b.shape, b.shape["girth"]
    side, (s_k, e_k, w_k), _ = _SIDES[side_name]
    hand0 = PARTS[f"{side_name}_hand"][0]
    angles = sample_arm_angles(rng, arm_styles)
    b.pose.update({f"{side_name}_{k}": v for k, v in angles.items()})
    shoulder = neck_base + torso_rot @ np.array([side * shape["shoulder"], -0.025, -0.01])
    arm_rot = (torso_rot @ rot_z(side * angles["shoulder_abduction"] * DEG) @ rot_x(-angles["shoulder_flexion"] * DEG)
               @ rot_y(-side * angles["shoulder_rotation"] * DEG))
    upper = arm_rot @ np.array([0.0, -1.0, 0.0])
    arm_forward = arm_rot @ np.array([0.0, 0.0, 1.0])
    elbow_angle = angles["elbow_flexion"] * DEG
    elbow = shoulder + upper * shape["upper_arm"]
    fore = np.cos(elbow_angle) * upper + np.sin(elbow_angle) * arm_forward
    fore_forward = -np.sin(elbow_angle) * upper + np.cos(elbow_angle) * arm_forward
    wrist = elbow + fore * shape["forearm"]
    palm = rotate_about(fore_forward, fore, side * angles["forearm_pronation"] * DEG)
    w = angles["wrist_flexion"] * DEG
    axis = np.cos(w) * fore + np.sin(w) * palm
    palm = np.cos(w) * palm - np.sin(w) * fore
    axis = rotate_about(axis, palm, side * angles["wrist_deviation"] * DEG)
    thumb_side = side * cross(palm, axis)
    b.keypoints[s_k], b.keypoints[e_k], b.keypoints[w_k] = shoulder, elbow, wrist
    r_shoulder, r_elbow, r_wrist = 0.034 * g, 0.027 * g, 0.021 * g ** 0.5
    b.primitives += [Capsule(shoulder, elbow, r_shoulder, r_elbow, SUB[f"{side_name}_upper_arm"]),
                     Capsule(elbow, wrist, r_elbow * 0.95, r_wrist, SUB[f"{side_name}_forearm"])]
    curls, spread = sample_curls(rng)
    hand_points, hand_primitives = build_hand(wrist, axis, palm, thumb_side, shape["hand"], curls, spread, side_name, rng,
                                              fingers=shape["hand"] * pixels_per_unit >= FINGER_DETAIL_PX)
    b.keypoints[hand0:hand0 + 21] = hand_points
    b.primitives += hand_primitives


def _build_leg(rng: np.random.Generator, b: _Build, side_name: str, leg_style: str, first: bool) -> None:
    """One leg with its foot (`first`: the leading leg of a walking pose)."""
    shape, g = b.shape, b.shape["girth"]
    side, _, (h_k, k_k, a_k) = _SIDES[side_name]
    angles = sample_leg_angles(rng, leg_style, first)
    b.pose.update({f"{side_name}_{k}": v for k, v in angles.items()})
    hip = _PELVIS + np.array([side * shape["hip"], 0.0, 0.0])
    leg_rot = (rot_z(side * angles["hip_abduction"] * DEG) @ rot_x(-angles["hip_flexion"] * DEG)
               @ rot_y(side * angles["hip_rotation"] * DEG))
    thigh = leg_rot @ np.array([0.0, -1.0, 0.0])
    leg_forward = leg_rot @ np.array([0.0, 0.0, 1.0])
    knee_angle = angles["knee_flexion"] * DEG
    knee = hip + thigh * shape["thigh"]
    shin = np.cos(knee_angle) * thigh - np.sin(knee_angle) * leg_forward
    shin_forward = np.sin(knee_angle) * thigh + np.cos(knee_angle) * leg_forward
    ankle = knee + shin * shape["shin"]
    a = angles["ankle_flexion"] * DEG
    foot_forward = np.cos(a) * shin_forward + np.sin(a) * shin
    foot_up = -np.cos(a) * shin + np.sin(a) * shin_forward
    b.keypoints[h_k], b.keypoints[k_k], b.keypoints[a_k] = hip, knee, ankle
    r_hip, r_knee, r_ankle = 0.058 * g, 0.04 * g ** 0.7, 0.027 * g ** 0.5
    b.primitives += [Capsule(hip, knee, r_hip, r_knee, SUB[f"{side_name}_thigh"]),
                     Capsule(knee, ankle, r_knee * 0.95, r_ankle, SUB[f"{side_name}_shin"])]
    _build_foot(b, side_name, side, ankle, foot_forward, foot_up)


def _build_foot(b: _Build, side_name: str, side: float, ankle: np.ndarray, foot_forward: np.ndarray,
                foot_up: np.ndarray) -> None:
    """Big toe, small toe and heel points and the foot's solid."""
    medial = side * cross(foot_forward, foot_up)
    fl = b.shape["foot"]
    sole = ankle - 0.3 * fl * foot_up
    big_toe = sole + 0.76 * fl * foot_forward + 0.12 * fl * medial
    small_toe = sole + 0.58 * fl * foot_forward - 0.22 * fl * medial
    heel = sole - 0.24 * fl * foot_forward
    base = PARTS["foot"][0] + (0 if side_name == "left" else 3)
    b.keypoints[base:base + 3] = big_toe, small_toe, heel
    foot_hull = np.array([ankle + 0.12 * fl * medial, ankle - 0.14 * fl * medial,
                          heel + 0.1 * fl * medial, heel - 0.1 * fl * medial, heel + 0.12 * fl * foot_up,
                          big_toe, small_toe, big_toe + 0.1 * fl * foot_up, small_toe + 0.08 * fl * foot_up,
                          sole + 0.45 * fl * foot_forward + 0.22 * fl * foot_up])
    b.primitives.append(Hull(foot_hull, SUB[f"{side_name}_foot"]))
