"""One pose stage, two placements: the steps on the host (NumPy/OpenCV) and on the device
(torch tensors), checked against each other on the CPU in float32."""

import cv2
import numpy as np
import pytest
import torch

import dwpose
from dwpose.backends import TORCH_DTYPES, TorchRunner, bucket_size
from dwpose.errors import BackendError, InputError
from dwpose.geometry import get_warp_matrix
from dwpose.inference import device_stage
from dwpose.inference.pose import PoseEstimator, crop_geometry, crop_persons
from tests.conftest import DATA, REFERENCE

SAMPLES = DATA / "coco_wholebody_val_sample"
# Inside, overlapping the top-left corner, tall, and sticking out of the right edge.
BOXES = np.array([[20, 15, 200, 330], [0, 0, 120, 160], [60, 100, 210, 340], [300, 50, 700, 420]], np.float32)


@pytest.fixture(scope="module")
def image():
    return cv2.imread(str(SAMPLES / "000000000785.jpg"))


@pytest.fixture(scope="module")
def model(t_checkpoint):
    return dwpose.create_model("rtmpose-t-256x192", checkpoint=t_checkpoint)


def device_crops(image: np.ndarray, matrices: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The device placement's crops (on the CPU), from the image window it would upload."""
    rows, columns = device_stage.warp_coordinates(matrices, size)
    x0, y0, x1, y1 = device_stage.source_window(rows, columns, image.shape[:2])
    window = torch.from_numpy(np.ascontiguousarray(image[y0:y1, x0:x1]))
    return device_stage.warp_crops(window, torch.from_numpy(rows), torch.from_numpy(columns), (x0, y0)).numpy()


def random_boxes(rng: np.random.Generator, count: int, width: int, height: int) -> np.ndarray:
    """Boxes of every kind: tiny (strong magnification), huge, partly or wholly outside."""
    x1 = rng.uniform(-0.5 * width, 1.2 * width, count)
    y1 = rng.uniform(-0.5 * height, 1.2 * height, count)
    sizes = np.exp(rng.uniform(np.log(1.5), np.log(2.0 * max(width, height)), (count, 2)))
    return np.stack([x1, y1, x1 + sizes[:, 0], y1 + sizes[:, 1]], 1).astype(np.float32)


@pytest.mark.parametrize("size", [(192, 256), (288, 384)])
def test_device_crops_equal_the_opencv_warp_byte_for_byte(image, size):
    rng = np.random.default_rng(size[0])
    noise = rng.integers(0, 256, (333, 517, 3), dtype=np.uint8)  # every grey-level step, at every pixel
    for picture in (image, noise):
        boxes = np.concatenate([BOXES, random_boxes(rng, 30, picture.shape[1], picture.shape[0])])
        _, _, matrices = crop_geometry(boxes, size)
        reference = crop_persons(picture, boxes, size)[0]
        np.testing.assert_array_equal(device_crops(picture, matrices, size), reference)


def test_device_crops_follow_any_affine_matrix(image):
    """Rotated and sheared matrices too (training warps with rotation): the arithmetic is OpenCV's
    general one, not a shortcut for axis-aligned boxes."""
    rng = np.random.default_rng(7)
    matrices = [get_warp_matrix(rng.uniform(0, 640, 2), rng.uniform(20, 500, 2), rng.uniform(-80, 80), (192, 256))
                for _ in range(12)]
    matrices.append(np.array([[0.8, 0.3, -40.0], [-0.2, 1.1, 15.5]]))
    for matrix in matrices:
        reference = cv2.warpAffine(image, matrix, (192, 256), flags=cv2.INTER_LINEAR)
        np.testing.assert_array_equal(device_crops(image, np.asarray(matrix)[None], (192, 256))[0], reference)


def test_source_window_covers_what_the_crops_read(image):
    box = np.array([[100, 80, 160, 200]], np.float32)
    _, _, matrices = crop_geometry(box, (192, 256))
    rows, columns = device_stage.warp_coordinates(matrices, (192, 256))
    x0, y0, x1, y1 = device_stage.source_window(rows, columns, image.shape[:2])
    # The padded, aspect-fixed box is x 73.75..186.25, y 65..215; its 192x256 samples sit at
    # x 73.77..185.68, y 65.02..214.43, so they read pixels 73..186 and 65..215, no more.
    assert (x0, y0, x1, y1) == (73, 65, 187, 216)
    outside = np.array([[-900, -900, -800, -700]], np.float32)
    rows, columns = device_stage.warp_coordinates(crop_geometry(outside, (192, 256))[2], (192, 256))
    assert device_stage.source_window(rows, columns, image.shape[:2]) == (0, 0, 1, 1)
    assert not device_crops(image, crop_geometry(outside, (192, 256))[2], (192, 256)).any()


@pytest.mark.parametrize("flip_test", [False, True])
def test_placements_agree_exactly(model, image, flip_test):
    """Same crops, same normalised batch, same network calls (chunked alike), same decode: the
    two placements give identical keypoints and scores, with and without flip test."""
    second = cv2.imread(str(SAMPLES / "000000196141.jpg"))
    images = [image, second, image]
    boxes = [BOXES, np.zeros((0, 4), np.float32), BOXES[:2] + 40]
    results = {}
    for placement in ("host", "device"):
        # Chunks of 3 persons: the second one spans the first and the third image.
        estimator = PoseEstimator(model, backend="torch", flip_test=flip_test, placement=placement, max_batch_size=3)
        assert estimator.placement == placement
        results[placement] = estimator.predict_many(images, boxes)
    for (host_kp, host_sc), (dev_kp, dev_sc), image_boxes in zip(results["host"], results["device"], boxes):
        assert host_kp.shape == dev_kp.shape == (len(image_boxes), 133, 2)
        assert host_kp.dtype == dev_kp.dtype == np.float32 and host_sc.dtype == dev_sc.dtype == np.float32
        np.testing.assert_array_equal(dev_kp, host_kp)
        np.testing.assert_array_equal(dev_sc, host_sc)


def mmpose_flip_test() -> dict[str, np.ndarray]:
    """mmpose's RTMCCHead flip test on the reference input (shared/reference): logits of the
    input and of its mirror flipped back and averaged, and their decode in input pixels."""
    return {k: np.load(REFERENCE / f"rtmpose_t_256x192_flip_{k}.npy") for k in ("simcc_x", "simcc_y", "keypoints", "scores")}


@pytest.mark.parametrize("placement", ["device", "host"])
def test_flip_test_matches_mmpose(model, t_input, placement):
    """The flip test of the torch backend, as each placement runs it (tensors on the device,
    NumPy on the host), reproduces mmpose's: float32 logits within 1e-3 (they have std ~10;
    without the un-flip they differ by ~30), the decoded keypoints exactly."""
    expected = mmpose_flip_test()
    estimator = PoseEstimator(model, backend="torch", placement=placement, flip_test=True)
    batch = torch.from_numpy(t_input) if placement == "device" else t_input
    with torch.inference_mode():
        simcc_x, simcc_y = estimator.infer_crops(batch)
        keypoints, scores = estimator.codec.decode(simcc_x, simcc_y)
    assert isinstance(simcc_x, torch.Tensor) == (placement == "device")
    as_numpy = [v.cpu().numpy() if isinstance(v, torch.Tensor) else v for v in (simcc_x, simcc_y, keypoints, scores)]
    for name, ours in zip(("simcc_x", "simcc_y", "keypoints", "scores"), as_numpy):
        tolerance = 0 if name == "keypoints" else 1e-3
        np.testing.assert_allclose(ours, expected[name], rtol=0, atol=tolerance, err_msg=name)


def test_reduced_precision_is_one_mechanism_for_both_placements(model, image):
    """bfloat16 by autocast in the one runner: the placements still agree exactly, and the
    shared module keeps its float32 weights."""
    boxes = BOXES[:2]
    host = PoseEstimator(model, backend="torch", dtype="bf16", placement="host")(image, boxes)
    device = PoseEstimator(model, backend="torch", dtype="bfloat16", placement="device")(image, boxes)
    np.testing.assert_array_equal(host[0], device[0])
    np.testing.assert_array_equal(host[1], device[1])
    assert all(p.dtype == torch.float32 for p in model.parameters())
    reference = PoseEstimator(model, backend="torch")(image, boxes)[1]
    assert not np.array_equal(reference, host[1])  # bfloat16 really ran


def test_buckets_pad_without_changing_results(model, image):
    crops, _, _ = crop_persons(image, BOXES[:3], (192, 256))
    batch = PoseEstimator(model, backend="torch").normalize(crops)
    plain = TorchRunner(model)
    padded = TorchRunner(model, max_batch=256)
    padded.compiled = True  # the bucket padding and output copies, without compiling on the CPU
    for a, b in zip(plain(batch), padded(batch)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert [bucket_size(n, 256) for n in (0, 1, 3, 9, 200, 256)] == [1, 1, 4, 16, 256, 256]
    assert bucket_size(300, 256) == 300 and bucket_size(5) == 8 and bucket_size(100, 100) == 100


def test_compile_allows_one_graph_per_bucket(model):
    import torch._dynamo.config as dynamo_config

    runner = TorchRunner(model, compile=True, max_batch=256)  # torch.compile is lazy: nothing compiles yet
    assert runner.compiled and runner.network is not runner.module and "compiled" in runner.device_info
    assert dynamo_config.recompile_limit >= 9  # buckets 1, 2, 4, ..., 256


def test_one_dtype_vocabulary(model):
    for name, dtype in TORCH_DTYPES.items():
        if dtype == torch.float16:
            with pytest.raises(BackendError, match="float16 is not supported on the CPU"):
                TorchRunner(model, dtype=name)
        else:
            assert TorchRunner(model, dtype=name).dtype == dtype
    with pytest.raises(InputError, match="unknown dtype 'half'"):
        PoseEstimator(model, backend="torch", dtype="half")
    with pytest.raises(BackendError, match="float16 is not supported on the CPU"):
        PoseEstimator(model, backend="torch", dtype="fp16", placement="device")


def test_unsupported_combinations_fail_clearly(model, pose_onnx):
    with pytest.raises(InputError, match="placement='device'.*backend='torch'"):
        PoseEstimator(pose_onnx, placement="device")
    with pytest.raises(InputError, match="compile=True needs backend='torch'"):
        PoseEstimator(pose_onnx, compile=True)
    with pytest.raises(InputError, match="dtype 'bfloat16' needs backend='torch'"):
        PoseEstimator(pose_onnx, dtype="bfloat16")
    with pytest.raises(InputError, match="unknown placement 'gpu'"):
        PoseEstimator(model, backend="torch", placement="gpu")
    with pytest.raises(InputError, match="max_batch_size"):
        PoseEstimator(model, backend="torch", max_batch_size=0)
    assert PoseEstimator(pose_onnx, dtype="fp32").placement == "host"
    assert PoseEstimator(model, backend="torch").placement == "host"  # CPU default: the OpenCV path
    with pytest.raises(InputError, match="2 box lists for 1 images"):
        PoseEstimator(model, backend="torch").predict_many([np.zeros((8, 8, 3), np.uint8)], [BOXES, BOXES])


def test_device_crops_trace_as_one_graph(image):
    """compile=True compiles the crop step with dynamic shapes: it must trace without graph
    breaks (checked with dynamo's eager backend: the tracing, not the slow code generation)."""
    traced = torch.compile(device_stage.warp_crops, dynamic=True, fullgraph=True, backend="eager")
    for boxes in (BOXES[:3], BOXES[1:] + 7):
        _, _, matrices = crop_geometry(boxes, (192, 256))
        rows, columns = device_stage.warp_coordinates(matrices, (192, 256))
        x0, y0, x1, y1 = device_stage.source_window(rows, columns, image.shape[:2])
        window = torch.from_numpy(np.ascontiguousarray(image[y0:y1, x0:x1]))
        out = traced(window, torch.from_numpy(rows), torch.from_numpy(columns), (x0, y0))
        np.testing.assert_array_equal(out.numpy(), crop_persons(image, boxes, (192, 256))[0])
    estimator = PoseEstimator(dwpose.create_model("rtmpose-t-256x192"), backend="torch", placement="device", compile=True)
    assert estimator.runner.compiled and estimator.warp_crops is not device_stage.warp_crops


def test_logits_are_kept_per_image_on_both_placements(model, image):
    """`keep_logits`: the SimCC logits of each image's persons (what `dwpose label --save-logits`
    stores), the same on both placements; an image without boxes gets empty arrays."""
    outputs = {placement: PoseEstimator(model, backend="torch", placement=placement).predict_many(
        [image, image], [BOXES[:3], BOXES[:0]], keep_logits=True) for placement in ("host", "device")}
    for (keypoints, _, (simcc_x, simcc_y)), (empty, _, (empty_x, empty_y)) in outputs.values():
        assert simcc_x.shape == (3, 133, 384) and simcc_y.shape == (3, 133, 512) and keypoints.shape == (3, 133, 2)
        assert empty_x.shape == (0, 133, 384) and empty_y.shape == (0, 133, 512) and empty.shape == (0, 133, 2)
    np.testing.assert_array_equal(outputs["host"][0][2][0], outputs["device"][0][2][0])
    np.testing.assert_array_equal(outputs["host"][0][2][1], outputs["device"][0][2][1])
    plain = PoseEstimator(model, backend="torch").predict_many([image], [BOXES[:3]])[0]
    assert len(plain) == 2 and np.array_equal(plain[0], outputs["host"][0][0])  # without it: as before
