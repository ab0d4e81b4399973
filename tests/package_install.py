"""The package installed as users install it, for tests/test_package.py and tests/test_comfyui_real.py:
a wheel built from this checkout, installed (not editable) into a fresh venv.

The venv has no system site-packages. Its own site-packages comes first and holds only the wheel;
a `.pth` file then appends the test interpreter's site-packages folders for the dependencies (torch,
onnxruntime, ...). Folders named in a `.pth` file are plain path entries: the `.pth` files inside
them, among them the editable install's finder, are not run, so `import dwpose` can only find the
wheel's copy (the tests assert `dwpose.__file__`)."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class InstalledVenv:
    root: Path
    python: Path
    wheel: Path
    site_packages: Path

    @property
    def bin(self) -> Path:
        return self.python.parent

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for its programs: nothing from the checkout on the path (no
        PYTHONPATH from the developer's shell), no user site-packages."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env.update(PYTHONNOUSERSITE="1", PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", **extra)
        return env


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def build_wheel(out: Path) -> Path:
    """`pip wheel` of a copy of the checkout's packaged files (building in place would leave
    build/ and *.egg-info in the checkout). No build isolation: setuptools comes from the test
    environment, so nothing is fetched."""
    source = out / "source"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "dwpose", source / "dwpose", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = out / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", wheels, source], timeout=300)
    (wheel,) = wheels.glob("dwpose_toolkit-*.whl")
    return wheel


def make_venv(root: Path, wheel: Path) -> InstalledVenv:
    _run([sys.executable, "-m", "venv", "--without-pip", root], timeout=120)
    python = root / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   timeout=60).stdout.strip()
    site_packages = Path(purelib)
    # pip of the test interpreter installs into the venv (regular install: files and a console script)
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
         timeout=300)
    ours = {str(Path(p).resolve()) for p in site.getsitepackages() + [sysconfig.get_paths()["purelib"]]}
    (site_packages / "zz_test_dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    return InstalledVenv(root, python, wheel, site_packages)
