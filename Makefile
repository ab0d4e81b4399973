# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# xtcocotools' wheels are built against NumPy 1: build it against the NumPy we install.
	$(BIN)/python -m pip install -q -c constraints.txt numpy cython wheel setuptools
	$(BIN)/python -m pip install -q --no-binary xtcocotools --no-build-isolation xtcocotools==1.14.3
	# openvino (~180 MB) and gradio are optional for users; the tests of the openvino backend and
	# of `dwpose serve` need them.
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,openvino,serve]'
	# The browser test of `dwpose serve` drives Debian's chromium: installed when root and online,
	# else that test skips with its reason.
	-@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v chromedriver >/dev/null; then \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver) \
		|| echo "chromium not installed: the browser test will skip"; fi
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dwpose demo --out dwpose_out

# rtmlib is the peer measured against; installed without its opencv-python pins (we have cv2).
bench: $(STAMP)
	$(BIN)/python -m pip install -q --no-deps rtmlib==0.0.16
	$(BIN)/python benchmarks/bench_cpu.py
	$(BIN)/python benchmarks/bench_rtmw.py

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) dwpose_out .pytest_cache
