# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dwpose demo --checkpoint ../shared/reference/rtmpose_t_256x192_random.pth --out dwpose_out

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) dwpose_out .pytest_cache
