# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dwpose demo --out dwpose_out

# rtmlib is the peer measured against; installed without its opencv-python pins (we have cv2).
bench: $(STAMP)
	$(BIN)/python -m pip install -q --no-deps rtmlib==0.0.16
	$(BIN)/python benchmarks/bench_cpu.py

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) dwpose_out .pytest_cache
