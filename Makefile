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
	# openvino (~180 MB) is optional for users; the tests of its backend need it.
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,openvino]'
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
