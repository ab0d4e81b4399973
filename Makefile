# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
# Nothing here changes the host: chromium for the browser test is `make browser`, a separate step.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The pins that resolved here (constraints.txt, or none when its torch pin does not): the later
# installs must not ask for a torch build that is not there.
PINS := $(VENV)/.constraints

.PHONY: demo test bench browser clean

# torch first: constraints.txt pins the CPU build. Where that resolves (the project machines have
# it as a local wheel) it is used; elsewhere (PyPI alone has no "+cpu" builds) PyPI's default torch
# for this platform is installed instead, saying so first: on Linux that is the CUDA build, several
# GB. To keep a CPU-only torch there, install it into $(VENV) from PyTorch's CPU index before `make`.
$(PINS): constraints.txt
	$(PYTHON) -m venv $(VENV)
	@pin=$$(grep -E '^torch==' constraints.txt); \
	if $(BIN)/python -c 'import torch' 2>/dev/null; then \
		echo "torch: keeping the torch already in $(VENV)" \
			"($$($(BIN)/python -c 'import torch; print(torch.__version__)'))"; \
		: > $(PINS).tmp; \
	elif $(BIN)/python -m pip install -q -c constraints.txt torch > $(VENV)/torch-pin.log 2>&1; then \
		echo "torch: installed the pinned CPU build ($$pin, from constraints.txt)"; \
		cp constraints.txt $(PINS).tmp; \
	else \
		echo "torch: the pinned CPU build ($$pin) is not available from your package index ($$(tail -n 1 $(VENV)/torch-pin.log))"; \
		echo "torch: installing PyPI's default torch for this platform instead (on Linux: the CUDA build, several GB)"; \
		$(BIN)/python -m pip install -q 'torch>=2.1' && : > $(PINS).tmp; \
	fi
	mv $(PINS).tmp $(PINS)

$(STAMP): pyproject.toml $(PINS)
	# xtcocotools' wheels are built against NumPy 1: build it against the NumPy we install.
	$(BIN)/python -m pip install -q -c $(PINS) numpy cython wheel setuptools
	$(BIN)/python -m pip install -q --no-binary xtcocotools --no-build-isolation xtcocotools==1.14.3
	# openvino (~180 MB) and gradio are optional for users; the tests of the openvino backend and
	# of `dwpose serve` need them.
	$(BIN)/python -m pip install -q -c $(PINS) -e '.[test,openvino,serve]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dwpose demo --out dwpose_out

# rtmlib is the peer measured against; installed without its opencv-python pins (we have cv2).
bench: $(STAMP)
	$(BIN)/python -m pip install -q --no-deps rtmlib==0.0.16
	$(BIN)/python benchmarks/bench_cpu.py
	$(BIN)/python benchmarks/bench_rtmw.py
	$(BIN)/python benchmarks/model_cost.py

test: $(STAMP)
	$(BIN)/python -m pytest

# The browser test of `dwpose serve` drives Debian's chromium and chromedriver. Installing them
# changes the host (root, apt-get), so it is this explicit step (CI runs it before `make test`);
# without them that test skips with its reason. Bounded: 10 minutes at most.
browser:
	@if command -v chromedriver >/dev/null; then echo "chromium: chromedriver is already installed"; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "make browser: needs root and apt-get (Debian/Ubuntu); else install chromium, chromedriver yourself"; \
		exit 1; \
	else \
		timeout 600 sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver'; \
	fi

clean:
	rm -rf $(VENV) dwpose_out .pytest_cache
