"""dwpose inside other applications (the ComfyUI node package)."""
