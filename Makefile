# espnet_distill: one-command setup and tests.
#   make install   create .venv (Python >= 3.12) and install the package with test extras
#   make test      install if needed, then run the default test suite
#   make test-all  also the slow tests (marker `slow`)
#   make demo      the embedded mini_synth recipe, end to end on CPU

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Pinned here because the resolver needs them first: ESPnet >= 202609 accepts torch
# 2.11/2.13/2.14 and torchaudio 2.11 only; this pair is the tested one.
TORCH_PINS := torch==2.14.1 torchaudio==2.11.0
PYTEST_ARGS ?=

.PHONY: install test test-all demo clean-venv system-deps

install: $(VENV)/.installed

system-deps:
	@tools/install_system_deps.sh

$(VENV)/.installed: setup.py tools/find_python.sh
	@tools/install_system_deps.sh
	@if [ ! -x $(PY) ]; then \
		python=$$(tools/find_python.sh) || exit 1; \
		echo "creating $(VENV) with $$python"; \
		"$$python" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PINS)
	$(PY) -m pip install --quiet -e ".[test,plot,recipes,export]"
	@touch $@
	@echo "installed: $$($(PY) -c 'import espnet_distill, espnet, torch; print("espnet_distill", espnet_distill.__version__, "| espnet", espnet.__version__, "| torch", torch.__version__)')"

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

test-all: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m "" $(PYTEST_ARGS)

demo: install
	cd egs2/mini_synth/distill1 && ./run.sh

clean-venv:
	rm -rf $(VENV)
