"""One synthetic image: people (posed, viewed from any side, 40 px to larger than the image,
overlapping, cut by the border), occluders, a textured background, blur and noise, and the exact
COCO-WholeBody annotation of every person the picture shows.

Visibility follows COCO: v=2 the keypoint's own body part is what the pixel shows; v=1
labelled but hidden (by another person, an occluder, another part of the same person, or the head
turned away); v=0 outside the image or not labelled (then x = y = 0). Face and hands are
labelled when large enough (`MIN_FACE_PX`, `MIN_HAND_PX`) and at least one of their points is
seen; a face turned away is not labelled at all, as in COCO-WholeBody.

A difficulty preset (`PRESETS`: easy, medium, hard) narrows what is drawn: the above is `hard`;
`easy` is one large person seen from the front to three-quarters, whole in the picture, on a
plain background, without occluders, with mild blur and noise."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ...formats.coco_wholebody import PART_BOX_FIELDS, PART_VALID_FIELDS, PERSON_CATEGORY_ID
from ...skeleton import NUM_KEYPOINTS, PART_ANNOTATION_FIELDS, PARTS
from .body import ARM_STYLES, FACE_DETAIL_PX, FINGER_DETAIL_PX, LEG_STYLES, Person3D, sample_person
from .geometry3d import DEG, WeightedChoice, rot_x, rot_y, rot_z
from .parts import (KEYPOINT_OWNERS, LABELS_PER_PERSON, MAX_OCCLUDER_LABELS, MAX_PERSONS, NUM_SUBPARTS,
                    OCCLUDER_BASE, decode_labels, label_owner)
from .render import BACKGROUNDS, Camera, Effects, background, compose, draw_occluder, draw_person, empty_palette, \
    finish, person_palette, random_colour, sample_appearance

MIN_PERSON_PX = 40.0       # smallest body height (pixels, standing-equivalent)
MIN_FACE_PX = FACE_DETAIL_PX     # face width below which the face is not labelled (nor drawn with features)
MIN_HAND_PX = FINGER_DETAIL_PX   # hand length below which a hand is not labelled (nor drawn with fingers)
MIN_AREA_PX = 16           # a person is annotated when this many pixels and ...
MIN_SEEN_BODY = 3          # ... this many body/foot keypoints are visible


_VIEWS = WeightedChoice(((0.0, 20.0), (20.0, 65.0), (65.0, 115.0), (115.0, 180.0)), (0.4, 0.32, 0.12, 0.16))


@dataclass(frozen=True)
class Difficulty:
    """How hard the pictures of a preset are. `hard` is the generator as it always was (its
    pictures stay byte-identical); `easy` is a problem a small model learns from scratch on a CPU
    in minutes; `medium` lies in between."""

    name: str
    persons: tuple[int, int]       # default people per image (--persons overrides)
    views: WeightedChoice          # |yaw| ranges: front, three-quarter, side, back
    upright: float                 # chance of a small camera roll rather than a person lying down
    occluder_prob: float
    # Body size as a fraction of the largest that fits, the whole person inside the image; None:
    # hard's sizes (40 px to larger than the image, cut by the border).
    fill: tuple[float, float] | None
    leg_styles: WeightedChoice
    arm_styles: WeightedChoice
    backgrounds: WeightedChoice    # kinds of render.background
    clutter_prob: float
    plain_amplitude: tuple[float, float]
    effects: Effects


PRESETS: dict[str, Difficulty] = {
    "easy": Difficulty(
        "easy", (1, 1), WeightedChoice(((0.0, 20.0), (20.0, 65.0)), (0.6, 0.4)), 1.0, 0.0, (0.75, 0.95),
        WeightedChoice(("stand", "walk"), (0.6, 0.4)), WeightedChoice(("down", "front", "raised", "akimbo"),
                                                                      (0.35, 0.3, 0.2, 0.15)),
        WeightedChoice((3,), (1.0,)), 0.0, (0.0, 25.0), Effects(0.25, 0.25, 0.9, (1.0, 4.0))),
    "medium": Difficulty(
        "medium", (1, 2), WeightedChoice(((0.0, 20.0), (20.0, 65.0), (65.0, 115.0)), (0.45, 0.4, 0.15)), 0.97, 0.2,
        (0.35, 0.95), WeightedChoice(("stand", "walk", "sit", "crouch"), (0.4, 0.3, 0.15, 0.15)), ARM_STYLES,
        WeightedChoice((0, 2, 3), (0.35, 0.25, 0.4)), 0.3, (5.0, 40.0), Effects(0.25, 0.32, 1.2, (1.5, 7.0))),
    "hard": Difficulty("hard", (1, 3), _VIEWS, 0.9, 0.45, None, LEG_STYLES, ARM_STYLES, BACKGROUNDS, 0.6,
                       (10.0, 60.0), Effects()),
}
PRESET_NAMES = tuple(PRESETS)
DEFAULT_PRESET = "hard"


FIT_MARGIN = 0.15  # body heights around the keypoints that the drawn body may reach (hair, limbs' girth)


@dataclass(frozen=True)
class SceneConfig:
    width: int = 256
    height: int = 256
    min_persons: int = 1
    max_persons: int = 3
    effects: bool = True    # lighting, blur, noise (off: the picture is exactly palette over background)
    preset: str = DEFAULT_PRESET

    @property
    def difficulty(self) -> Difficulty:
        return PRESETS[self.preset]


@dataclass
class Scene:
    image: np.ndarray                  # final BGR picture
    clean: np.ndarray                  # before lighting/blur/noise
    backdrop: np.ndarray               # the background alone
    labels: np.ndarray                 # (H, W) uint16 label map
    annotations: list[dict] = field(default_factory=list)   # COCO-WholeBody records without ids
    people: list[Person3D] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)
    annotated: list[int] = field(default_factory=list)       # person index of each annotation


def _view_rotation(rng: np.random.Generator, difficulty: Difficulty) -> np.ndarray:
    """Front, three-quarter, profile and back views, a little camera pitch and roll (rarely a
    person lying down)."""
    low, high = difficulty.views(rng)             # |yaw| range of front, 3/4, side, back views
    side = 1.0 if rng.random() < 0.5 else -1.0
    yaw = side * rng.uniform(low, high)
    roll = rng.uniform(-15, 15) if rng.random() < difficulty.upright else side * rng.uniform(30, 95)
    return rot_z(roll * DEG) @ rot_x(rng.uniform(-15, 20) * DEG) @ rot_y(yaw * DEG)


def _person_height(rng: np.random.Generator, config: SceneConfig) -> float:
    """Body height in pixels: log-uniform from MIN_PERSON_PX to the image height, sometimes a
    close-up taller than the image (cut by the border)."""
    h = config.height
    if rng.random() < 0.85:
        return float(np.exp(rng.uniform(np.log(MIN_PERSON_PX), np.log(max(MIN_PERSON_PX, 1.0 * h)))))
    return float(rng.uniform(1.0, 2.2) * h)


def _place(rng: np.random.Generator, person: Person3D, rotation: np.ndarray, height_px: float, config: SceneConfig,
           placed: list[Camera]) -> Camera:
    w, h = config.width, config.height
    camera = Camera(rotation, height_px, np.zeros(2))
    points = camera.project(person.keypoints)
    lo, hi = points.min(axis=0), points.max(axis=0)
    if height_px > h:  # keep the head and upper body in view
        anchor = points[[0, 5, 6]].mean(axis=0)
        target = np.array([rng.uniform(0.25, 0.75) * w, rng.uniform(0.15, 0.45) * h])
    elif placed and rng.random() < 0.5:  # overlap someone already there
        anchor = (lo + hi) / 2
        other = placed[int(rng.integers(len(placed)))]
        target = other.offset + rng.normal(0, 0.25, 2) * other.scale
    else:
        anchor = (lo + hi) / 2
        target = np.array([rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h])
    camera.offset = target - anchor
    return camera


def _fit(rng: np.random.Generator, person: Person3D, rotation: np.ndarray, fill: tuple[float, float],
         config: SceneConfig) -> Camera:
    """A camera that shows the whole person (keypoints and FIT_MARGIN around them) at a random
    fraction `fill` of the largest size that fits, at a random place where it fits."""
    unit = Camera(rotation, 1.0, np.zeros(2)).project(person.keypoints)
    lo, hi = unit.min(axis=0) - FIT_MARGIN, unit.max(axis=0) + FIT_MARGIN
    size = np.array([config.width - 1.0, config.height - 1.0])
    scale = float(rng.uniform(*fill) * np.min(size / (hi - lo)))
    corner = rng.uniform(0.0, 1.0, 2) * (size - (hi - lo) * scale)
    return Camera(rotation, scale, corner - lo * scale)


def _visibility(person: Person3D, camera: Camera, labels: np.ndarray, index: int, config: SceneConfig
                ) -> tuple[np.ndarray, np.ndarray]:
    """Image keypoints (rounded to 0.01 px as written) and COCO visibility (0/1/2)."""
    points = np.round(camera.project(person.keypoints), 2)
    w, h = config.width, config.height
    inside = (points[:, 0] >= 0) & (points[:, 0] <= w - 1) & (points[:, 1] >= 0) & (points[:, 1] <= h - 1)
    px = np.clip(np.floor(points[:, 0] + 0.5).astype(int), 0, w - 1)
    py = np.clip(np.floor(points[:, 1] + 0.5).astype(int), 0, h - 1)
    owner, part = decode_labels(labels[py, px])
    own = (owner == index) & KEYPOINT_OWNERS[np.arange(NUM_KEYPOINTS), np.maximum(part, 0)] & (part >= 0)
    has_normal = np.abs(person.normals).sum(axis=1) > 0
    facing = ~has_normal | camera.facing(person.normals)
    visible = np.where(inside, np.where(own & facing, 2, 1), 0)
    # A face turned away, or too small to see, is not labelled (nor are the nose and eyes then).
    head_towards = float(camera.view(person.head_forward)[2])
    face_width = 2.0 * person.head_size * camera.scale
    if head_towards < 0.25 or face_width < MIN_FACE_PX:
        visible[slice(*PARTS["face"])] = 0
    if head_towards < -0.2:
        visible[:3] = 0
    if person.hand_length * camera.scale < MIN_HAND_PX:
        for side in ("left_hand", "right_hand"):
            visible[slice(*PARTS[side])] = 0
    for part in ("foot", "face", "left_hand", "right_hand"):  # a part no point of which is seen is unlabelled
        sl = slice(*PARTS[part])
        if not (visible[sl] == 2).any():
            visible[sl] = 0
    points[visible == 0] = 0.0
    return points, visible


def _part_box(points: np.ndarray, visible: np.ndarray, config: SceneConfig) -> list[float]:
    """A part's box: its labelled points, 10 % margin, inside the image; [0, 0, 0, 0] if none."""
    labelled = points[visible > 0]
    if not len(labelled):
        return [0.0, 0.0, 0.0, 0.0]
    lo, hi = labelled.min(axis=0), labelled.max(axis=0)
    margin = 0.1 * (hi - lo) + 1.0
    lo = np.maximum(lo - margin, 0.0)
    hi = np.minimum(hi + margin, [config.width - 1, config.height - 1])
    return [round(float(v), 2) for v in (lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])]


def _segmentation(mask: np.ndarray) -> list[list[float]]:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        if len(contour) >= 3:
            polygons.append([float(v) for v in contour.reshape(-1)])
    return polygons


def annotation_record(points: np.ndarray, visible: np.ndarray, mask: np.ndarray, config: SceneConfig) -> dict:
    """A COCO-WholeBody annotation (no ids) from keypoints, visibility and the person's mask."""
    mask = mask.view(np.uint8)
    left, top, width, height = cv2.boundingRect(mask)
    # The box encloses the pixels shown, i.e. every point whose pixel is shown (+-0.5 px).
    x1, y1 = max(0.0, left - 0.5), max(0.0, top - 0.5)
    x2, y2 = min(config.width - 1.0, left + width - 0.5), min(config.height - 1.0, top + height - 0.5)
    triples = np.concatenate([points, visible[:, None].astype(np.float64)], axis=1)
    record: dict = {"category_id": PERSON_CATEGORY_ID, "iscrowd": 0, "bbox": [round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)],
                    "area": float(cv2.countNonZero(mask)), "segmentation": _segmentation(mask),
                    "num_keypoints": int((visible[:17] > 0).sum())}
    for part, key in PART_ANNOTATION_FIELDS.items():
        record[key] = [v for x, y, vis in triples[slice(*PARTS[part])].tolist() for v in (x, y, int(vis))]
    for part, key in PART_BOX_FIELDS.items():
        record[key] = _part_box(points[slice(*PARTS[part])], visible[slice(*PARTS[part])], config)
    for part in ("face", "left_hand", "right_hand", "foot"):  # synth's field order since its first files
        record[PART_VALID_FIELDS[part]] = bool((visible[slice(*PARTS[part])] > 0).any())
    return record


def render_scene(rng: np.random.Generator, config: SceneConfig = SceneConfig()) -> Scene:
    """Draw one random scene and annotate it."""
    w, h = config.width, config.height
    difficulty = config.difficulty
    count = int(rng.integers(config.min_persons, config.max_persons + 1))
    people, cameras, depths = [], [], []
    for _ in range(count):
        appearance = sample_appearance(rng)
        if difficulty.fill is None:
            height_px = _person_height(rng, config)
            person = sample_person(rng, appearance, height_px, difficulty.leg_styles, difficulty.arm_styles)
            camera = _place(rng, person, _view_rotation(rng, difficulty), height_px, config, cameras)
        else:  # the size follows from the pose: build every detail, label what is large enough
            person = sample_person(rng, appearance, float("inf"), difficulty.leg_styles, difficulty.arm_styles)
            camera = _fit(rng, person, _view_rotation(rng, difficulty), difficulty.fill, config)
        people.append(person)
        cameras.append(camera)
        depths.append(-np.log(camera.scale) + rng.normal(0.0, 0.3))  # bigger people tend to be nearer
    palette = empty_palette()
    for p, person in enumerate(people):
        start = 1 + p * LABELS_PER_PERSON
        palette[start:start + NUM_SUBPARTS] = person_palette(person.appearance, rng)
    # Occluders take a depth among the people; each has a colour (and maybe a stripe colour).
    entities = [(depths[p], "person", p) for p in range(count)]
    n_occluders = int(rng.integers(1, 3)) if rng.random() < difficulty.occluder_prob else 0
    for o in range(n_occluders):
        entities.append((float(rng.uniform(min(depths) - 0.5, max(depths) + 0.2)), "occluder", o))
        palette[OCCLUDER_BASE + 2 * o] = random_colour(rng)
        palette[OCCLUDER_BASE + 2 * o + 1] = random_colour(rng)
    assert 2 * n_occluders <= MAX_OCCLUDER_LABELS and count <= MAX_PERSONS
    backdrop = background(rng, w, h, difficulty.backgrounds, difficulty.clutter_prob, difficulty.plain_amplitude)
    labels = np.zeros((h, w), np.uint16)
    for _, kind, i in sorted(entities, key=lambda e: -e[0]):
        if kind == "person":
            draw_person(labels, people[i].primitives, cameras[i], i)
        else:
            target = cameras[int(rng.integers(count))]
            centre = target.offset + rng.normal(0, 0.25, 2) * target.scale if rng.random() < 0.7 else \
                rng.uniform(0, 1, 2) * [w, h]
            size = float(rng.uniform(0.12, 0.45) * min(w, h))
            draw_occluder(labels, rng, centre, size, OCCLUDER_BASE + 2 * i,
                          OCCLUDER_BASE + 2 * i + 1 if rng.random() < 0.4 else None)
    clean = compose(labels, palette, backdrop)
    image = finish(clean, rng, difficulty.effects) if config.effects else clean.copy()
    scene = Scene(image=image, clean=clean, backdrop=backdrop, labels=labels, people=people, cameras=cameras)
    owner = label_owner(labels)
    for p, (person, camera) in enumerate(zip(people, cameras)):
        mask = owner == p
        if cv2.countNonZero(mask.view(np.uint8)) < MIN_AREA_PX:
            continue
        points, visible = _visibility(person, camera, labels, p, config)
        if (visible[:23] == 2).sum() < MIN_SEEN_BODY:
            continue
        scene.annotations.append(annotation_record(points, visible, mask, config))
        scene.annotated.append(p)
    return scene
