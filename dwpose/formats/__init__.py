"""The files dwpose writes from pose results: OpenPose JSON and the 134-point OpenPose layout
(`formats.openpose`), COCO-WholeBody records and annotation files (`formats.coco_wholebody`).
Leaf modules on NumPy and `skeleton`: `PoseResult` (dwpose.result), drawing, evaluation,
labelling and synth all use them."""
