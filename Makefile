# Two commands do all the set-up: `make book` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# Parallel workers for the test suite (notebooks, autograding); both cores by default.
JOBS ?= 2

# Every tool and every kernel started below inherits these.
export PATH := $(BIN):$(PATH)
export PYTHONPATH := $(CURDIR)/src
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_ENABLE_ONEDNN_OPTS := 0
export CUDA_VISIBLE_DEVICES := -1
export KERAS_BACKEND := tensorflow
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export JUPYTER_PLATFORM_DIRS := 1

.PHONY: help install browser bubblewrap book test test-fast lab exercises notebooks bench lock clean grade sensitivity \
        grade-scheduler grade-worker

help:
	@echo "make book       build the book into _build/html/index.html (creates .venv if missing)"
	@echo "make test       run the whole test suite (unit, notebooks, autograding, book build)"
	@echo "make lab        open JupyterLab on exercises/"
	@echo "make exercises  regenerate exercises/ from solutions/ with nbgrader"
	@echo "make notebooks  re-execute book/ chapters in place, storing their outputs"
	@echo "make bench      run the benchmarks in bench/ (results go in BENCHMARKS.md by hand)"
	@echo "make grade SUBMISSIONS=path   grade a class (folder or zip) into grading/"
	@echo "make grade-scheduler / make grade-worker SCHEDULER=tcp://HOST:8786   a Dask cluster to grade on"
	@echo "make sensitivity  check the grader: solution full, release 0, wrong versions caught"

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

# The browser of tests/test_book.py: Debian's chromium and its driver, from apt (never a
# browser build downloaded by a tool). Installed when missing; needs root (CI is root).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  test "$$(id -u)" = 0 || { echo "install Debian's chromium and chromium-driver (as root: make browser)"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

# The sandbox of graded kernels (tools/sandbox.py): Debian's bubblewrap, from apt. Installed
# when missing, as root (CI is root). Where it cannot be installed or cannot run, grading
# falls back to an unprivileged user and its report says so (README.md, For instructors).
bubblewrap:
	@command -v bwrap >/dev/null || { \
	  test "$$(id -u)" = 0 || { echo "bubblewrap (bwrap) is missing: graded kernels run without its sandbox (README.md); as root: make bubblewrap"; exit 0; }; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; } \
	  || echo "could not install bubblewrap: graded kernels fall back to an unprivileged user (README.md)"; }

book: install
	$(BIN)/jupyter-book build . -W --keep-going
	@echo "open _build/html/index.html"

test: install browser bubblewrap
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope

# Unit tests of src/ only (seconds): no notebooks, no grading, no book.
test-fast: install
	$(BIN)/python -m pytest src tests -m "not slow" -o addopts="-p no:cacheprovider --doctest-modules"

# --allow-root: containers, JupyterHub images and CI run as root.
lab: install
	$(BIN)/jupyter lab --notebook-dir=exercises $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

exercises: install
	$(BIN)/python tools/course.py generate

notebooks: install
	$(BIN)/python tools/course.py execute book/*.ipynb

bench: install
	$(BIN)/python bench/bench_conv2d.py
	$(BIN)/python bench/bench_shapes.py
	$(BIN)/python bench/bench_detector.py
	$(BIN)/python bench/bench_grade.py
	$(BIN)/python bench/bench_book.py

# Grade a class: grades.csv, feedback and report.html in $(GRADE_DIR). See README.md.
GRADE_DIR ?= grading
grade: install bubblewrap
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/folder-or.zip"; exit 2; }
	$(BIN)/python tools/grade.py "$(SUBMISSIONS)" --out "$(GRADE_DIR)" $(GRADE_ARGS)

sensitivity: install bubblewrap
	$(BIN)/python tools/grade.py --sensitivity

# A class too big for one machine (README.md): a Dask scheduler on one machine, workers on
# every machine, each in its own checkout; then make grade ... GRADE_ARGS='--scheduler tcp://HOST:8786'.
# WORKERS single-threaded worker processes (-1: one per core), with the course's tools importable.
SCHEDULER_PORT ?= 8786
WORKERS ?= -1
grade-scheduler: install
	$(BIN)/dask scheduler --port $(SCHEDULER_PORT) $(SCHEDULER_ARGS)

grade-worker: install bubblewrap
	@test -n "$(SCHEDULER)" || { echo "usage: make grade-worker SCHEDULER=tcp://HOST:8786"; exit 2; }
	PYTHONPATH=$(CURDIR)/src:$(CURDIR)/tools PYTHONDONTWRITEBYTECODE=1 \
	  $(BIN)/dask worker $(SCHEDULER) --nthreads 1 --nworkers $(WORKERS) $(WORKER_ARGS)

# One universal lock: exact pins, with environment markers, for Linux and macOS on Apple
# silicon and every Python that pyproject.toml's requires-python allows (uv keeps the pins
# already in requirements.lock unless a changed dependency needs others).
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --custom-compile-command "make lock" --no-annotate -o requirements.lock

clean:
	rm -rf _build
