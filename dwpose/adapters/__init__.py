"""Drop-in replacements with the call shapes and defaults of the tools people come from, one
module per peer (switch with one import line):

- `dwpose.adapters.controlnet_aux.DWposeDetector`  (huggingface controlnet_aux)
- `dwpose.adapters.easy_dwpose.DWposeDetector`     (easy_dwpose; `draw_openpose`, `draw_musepose`, ...)
- `dwpose.adapters.comfyui.DwposeDetector`         (comfyui_controlnet_aux)
- `dwpose.adapters.rtmlib.Wholebody`, `PoseTracker`, `draw_skeleton`, `draw_bbox` (rtmlib)

Each takes images the way its peer does and fails with one `InputError` for a wrong type, shape
or option; an image with no pixels, or with nobody in it, gives a black map and no people."""
