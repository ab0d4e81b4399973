import json

import numpy as np
import pytest

from dwpose.drawing import draw_openpose, output_size_for, overlay
from dwpose.result import PoseResult
from tests.conftest import DATA, REFERENCE, ROOT


@pytest.fixture(scope="module")
def ground_truth():
    """COCO-WholeBody GT of the first sample image, as a result with scores 1 (labelled) / 0."""
    data = json.loads((DATA / "coco_wholebody_val_sample" / "test_coco_wholebody.json").read_text())
    image = data["images"][0]
    anns = [a for a in data["annotations"] if a["image_id"] == image["id"]]
    triples = np.array([np.concatenate([np.reshape(a[k], (-1, 3)) for k in
                        ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")]) for a in anns])
    return PoseResult.from_keypoints(triples[..., :2], (triples[..., 2] > 0).astype(np.float32),
                                     (image["width"], image["height"]))


def reference_render(result: PoseResult) -> np.ndarray:
    """DWPose's own annotator on these poses (shared/reference/styles, the `vis` case)."""
    import cv2

    image_id = json.loads((DATA / "coco_wholebody_val_sample" / "test_coco_wholebody.json").read_text())["images"][0]["id"]
    png = REFERENCE / "styles" / f"controlnet_{image_id:012d}_vis.png"
    return cv2.imread(str(png), cv2.IMREAD_UNCHANGED)[..., ::-1]


def test_reference_style(ground_truth):
    """draw_openpose is DWPose's annotator pixel for pixel (test_styles covers all 8 renders)."""
    np.testing.assert_array_equal(draw_openpose(ground_truth), reference_render(ground_truth))


def test_toggles_remove_parts(ground_truth):
    """Each toggle leaves out exactly its part: the annotator draws body, then hands, then face,
    so a part drawn alone is what the full render shows wherever no later part covers it."""
    full = reference_render(ground_truth)
    body = draw_openpose(ground_truth, include_hand=False, include_face=False)
    hands = draw_openpose(ground_truth, include_body=False, include_face=False)
    face = draw_openpose(ground_truth, include_body=False, include_hand=False)
    assert body.any() and hands.any() and face.any()
    face_px, hand_px = face.any(axis=2), hands.any(axis=2)
    np.testing.assert_array_equal(full[face_px], face[face_px])
    assert (face[face_px] == 255).all()                              # white dots
    np.testing.assert_array_equal(full[hand_px & ~face_px], hands[hand_px & ~face_px])
    rest = ~(hand_px | face_px)
    np.testing.assert_array_equal(full[rest], body[rest])
    np.testing.assert_array_equal(draw_openpose(ground_truth, include_face=False)[~face_px], full[~face_px])
    none = draw_openpose(ground_truth, include_body=False, include_hand=False, include_face=False)
    assert not none.any()
    # Feet: white ankle-to-toe lines, only when asked for.
    feet = draw_openpose(ground_truth, include_body=False, include_hand=False, include_face=False, include_foot=True)
    assert feet.any() and (feet[feet.any(axis=2)] == 255).all()


def test_output_resolution_keeps_aspect(ground_truth):
    size = output_size_for(ground_truth.image_size, 256)
    canvas = draw_openpose(ground_truth, size)
    assert min(canvas.shape[:2]) == 256
    w, h = ground_truth.image_size
    assert abs(canvas.shape[1] / canvas.shape[0] - w / h) < 0.01


def test_draw_keypoints_is_draw_openpose_on_arrays(ground_truth):
    from dwpose.drawing import draw_keypoints

    canvas = draw_keypoints(ground_truth.keypoints, ground_truth.scores, ground_truth.image_size, include_face=False)
    np.testing.assert_array_equal(canvas, draw_openpose(ground_truth, include_face=False))


def test_empty_result_and_overlay():
    empty = PoseResult.empty((40, 30))
    assert not draw_openpose(empty).any()
    photo = np.full((30, 40, 3), 9, np.uint8)
    skeleton = np.zeros((30, 40, 3), np.uint8)
    skeleton[5, 5] = (255, 0, 0)
    out = overlay(photo, skeleton)
    assert tuple(out[5, 5]) == (255, 0, 0) and tuple(out[0, 0]) == (9, 9, 9)


# ------------------------------------------------------------------ shared primitives, memory


def test_dim_is_the_float_formula_in_place():
    from dwpose.drawing.primitives import dim

    every_value = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    photo = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    for canvas in (every_value, photo):
        expected = (canvas * 0.6).astype(np.uint8)  # the reference's formula (a float64 copy)
        work = canvas.copy()
        assert dim(work) is work
        np.testing.assert_array_equal(work, expected)


def test_hand_edge_colours_round_half_even_like_opencv():
    import colorsys

    import cv2

    from dwpose.drawing.primitives import HAND_EDGE_COLORS, hand_edge_color

    # The colours the peers' cv2.line really writes (shared/reference/styles/README.md).
    assert HAND_EDGE_COLORS == (
        (255, 0, 0), (255, 77, 0), (255, 153, 0), (255, 229, 0), (204, 255, 0), (128, 255, 0), (51, 255, 0),
        (0, 255, 25), (0, 255, 102), (0, 255, 179), (0, 255, 255), (0, 178, 255), (0, 102, 255), (0, 25, 255),
        (51, 0, 255), (128, 0, 255), (204, 0, 255), (255, 0, 230), (255, 0, 153), (255, 0, 77))
    # The same rule for MimicMotion's integer factors: OpenCV given the float colour writes ours.
    for factor in (255, 200, 127, 51, 3):
        for edge in range(20):
            float_colour = np.array(colorsys.hsv_to_rgb(edge / 20.0, 1.0, 1.0)) * factor
            canvas = np.zeros((3, 3, 3), np.uint8)
            cv2.line(canvas, (1, 1), (1, 1), float_colour, 1)
            assert tuple(canvas[1, 1]) == hand_edge_color(edge, factor), (factor, edge)


def test_smart_width_steps():
    from dwpose.drawing.primitives import smart_width

    steps = [(0, 1), (4.99, 1), (5, 2), (9.9, 2), (10, 3), (20, 4), (40, 5), (80, 6), (160, 7), (319.9, 7), (320, 8), (1e6, 8)]
    assert [smart_width(d) for d, _ in steps] == [w for _, w in steps]


def test_overlay_pastes_non_black_pixels_without_extra_copies():
    rng = np.random.default_rng(1)
    skeleton = np.zeros((1100, 37, 3), np.uint8)
    drawn = rng.random((1100, 37)) < 0.3
    skeleton[drawn] = rng.integers(0, 2, (drawn.sum(), 3), dtype=np.uint8)  # includes (0, 0, 1)-like pixels
    photo = rng.integers(0, 256, (1100, 37, 3), dtype=np.uint8)
    expected = np.where(skeleton.any(axis=2, keepdims=True), skeleton, photo)
    np.testing.assert_array_equal(overlay(photo, skeleton), expected)
    np.testing.assert_array_equal(overlay(photo[:, ::-1], skeleton),
                                  np.where(skeleton.any(axis=2, keepdims=True), skeleton, photo[:, ::-1]))
    reused = skeleton.copy()
    assert overlay(photo, reused, reuse_skeleton=True) is reused
    np.testing.assert_array_equal(reused, expected)
    assert (photo == photo.copy()).all() and overlay(photo, skeleton) is not photo
    big_photo = rng.integers(0, 256, (2200, 74, 3), dtype=np.uint8)  # resized to the skeleton
    np.testing.assert_array_equal(overlay(big_photo, skeleton.copy(), reuse_skeleton=True), overlay(big_photo, skeleton))


def test_every_style_draws_a_large_canvas_within_its_output_size():
    """Peak NumPy memory of a 4000 x 4000 render is the output itself plus small bounded
    temporaries: the two 512-row overlay masks and, for mimicmotion, its 2160-short-side canvas.
    (The old dimming alone made an 8-times-larger float64 copy.)"""
    import tracemalloc

    from dwpose.drawing import STYLES, render
    from dwpose.drawing.mimicmotion import internal_size

    side = 4000
    inputs = np.load(REFERENCE / "styles" / "inputs_000000197388.npz")
    result = PoseResult.from_keypoints(inputs["keypoints"] * side / 640, inputs["scores_rand"], (side, side))
    photo = np.full((side, side, 3), 7, np.uint8)
    canvas_bytes = side * side * 3
    tracemalloc.start()
    try:
        for name in STYLES:
            internal = int(np.prod(internal_size((side, side)))) * 3 if name in ("mimicmotion", "controlnext") else 0
            bound = canvas_bytes + internal + 2 * 512 * side + 2**20
            for image in (None, photo):
                tracemalloc.reset_peak()
                start = tracemalloc.get_traced_memory()[0]
                out = render(result, name, include_foot=True, image=image)
                peak = tracemalloc.get_traced_memory()[1] - start
                assert out.shape == (side, side, 3)
                assert peak <= bound, f"{name} (photo: {image is not None}) peaked at {peak / canvas_bytes:.2f} x canvas"
                del out
    finally:
        tracemalloc.stop()


def test_huge_canvas_process_memory(tmp_path):
    """The issue's case in a fresh process (OpenCV's own buffers included): an 8000 x 8000
    controlnet render raises the process's peak resident memory by about the output's size
    (192 MB), not the ~9.5 x of the old float64 dimming (1.7 GB). The process loads only the
    drawing modules (not the package's torch-importing __init__), and the kernel's peak counter
    is reset just before the render, so nothing else is measured."""
    import subprocess
    import sys

    script = tmp_path / "peak.py"
    script.write_text(
        "import sys, types, numpy as np\n"
        "package = types.ModuleType('dwpose')\n"
        f"package.__path__ = [{str(ROOT / 'dwpose')!r}]\n"
        "sys.modules['dwpose'] = package\n"
        "from dwpose.drawing import render\n"
        "from dwpose.result import PoseResult\n"
        "def status(key):\n"
        "    line = next(l for l in open('/proc/self/status') if l.startswith(key + ':'))\n"
        "    return int(line.split()[1]) * 1024\n"
        f"d = np.load({str(REFERENCE / 'styles' / 'inputs_000000197388.npz')!r})\n"
        "render(PoseResult.from_keypoints(d['keypoints'], d['scores_vis'], (640, 392)))\n"
        "result = PoseResult.from_keypoints(d['keypoints'] * 12.5, d['scores_vis'], (8000, 8000))\n"
        "before = status('VmRSS')\n"
        "open('/proc/self/clear_refs', 'w').write('5')  # resets VmHWM, the peak resident size\n"
        "out = render(result)\n"
        "assert out.any()\n"
        "print(status('VmHWM') - before, out.nbytes)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peak, canvas_bytes = map(int, done.stdout.split())
    assert peak < 1.25 * canvas_bytes, f"peak increase {peak / canvas_bytes:.2f} x the canvas"
