"""`dwpose serve`: the local web demo (dwpose.web). Binds to 127.0.0.1 unless --host says
otherwise and never opens a public share link; the models are chosen here, on the command line."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys

from ..backends import BACKENDS, backend_for_files
from ..errors import DWPoseError
from ..models.rtmpose import DEFAULT_DETECTOR, DEFAULT_POSE
from .options import device_name, int_in_range, positive_number

positive_limit = positive_number("expected a number > 0, got {text!r}")


def add_serve_parser(sub) -> None:
    p = sub.add_parser("serve", help="local web demo (Gradio): upload an image or video, see and download the poses")
    add_arguments(p)
    p.set_defaults(func=run_serve)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--port", type=int_in_range(1, 65535), default=7860, help="port (default 7860)")
    p.add_argument("--pose-model", default=DEFAULT_POSE, help=f"pose weights: path or official file name (default {DEFAULT_POSE})")
    p.add_argument("--det-model", default=DEFAULT_DETECTOR, help=f"YOLOX weights: path or official file name (default {DEFAULT_DETECTOR})")
    p.add_argument("--no-detector", action="store_true", help="no detector: the whole image is one person")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="inference backend (default: torch for a PyTorch checkpoint, else onnxruntime)")
    p.add_argument("--device", type=device_name, default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--max-upload-mb", type=positive_limit, default=20.0, help="largest upload in MB (default 20)")
    p.add_argument("--max-video-seconds", type=positive_limit, default=30.0,
                   help="longest video accepted, in seconds of decoded frames (default 30)")
    p.add_argument("--max-image-megapixels", type=positive_limit, default=50.0,
                   help="largest image or video frame, in millions of pixels, checked from the header "
                        "before decoding (default 50)")
    p.add_argument("--max-video-frames", type=int_in_range(1), default=1800,
                   help="most frames of one video, counted as decoded (default 1800)")
    p.add_argument("--max-video-megapixels", type=positive_limit, default=2000.0,
                   help="most pixels of one video, all decoded frames together, in millions (default 2000)")


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # so that the temporary files are removed as on Ctrl-C


def run_serve(args: argparse.Namespace) -> int:
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise DWPoseError("dwpose serve needs gradio: pip install 'dwpose-toolkit[serve]'") from None
    from ..inference.pipeline import WholebodyPipeline
    from ..models.zoo import resolve_weights
    from ..web import Limits, PoseDemo, build_app, temporary_root

    pose = resolve_weights(args.pose_model)
    det = None if args.no_detector else resolve_weights(args.det_model)
    pipeline = WholebodyPipeline.from_files(pose, det, backend=backend_for_files(pose, det, backend=args.backend),
                                            device=args.device)
    root = temporary_root()
    try:
        # Gradio keeps uploads and served outputs under GRADIO_TEMP_DIR: inside our root, so that
        # they go when the server stops.
        os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio")
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        limits = Limits(int(args.max_upload_mb * 2**20), args.max_video_seconds,
                        max_image_pixels=int(args.max_image_megapixels * 1e6), max_video_frames=args.max_video_frames,
                        max_video_pixels=int(args.max_video_megapixels * 1e6))
        demo = PoseDemo(pipeline, root, limits, upload_dir=root / "gradio")
        app = build_app(demo)
        previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
        print(f"dwpose serve: temporary files in {root}", flush=True)
        try:
            app.launch(server_name=args.host, server_port=args.port, share=False, inbrowser=False,
                       max_file_size=limits.max_upload_bytes, ssr_mode=False, mcp_server=False,
                       show_error=False)
        finally:
            signal.signal(signal.SIGTERM, previous)
            app.close()
    except KeyboardInterrupt:
        print("dwpose serve: stopped", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0
