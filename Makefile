# Two commands for a fresh clone (only Python 3.11 needed):
#   make book   - create .venv if missing, install, (re-)execute the chapters whose code, lib/ or environment
#                 changed, build _build/html (warnings are errors)
#   make test   - the same environment, then the whole test suite (CI runs exactly this)
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test test-fast env sysdeps exercises bench clean

env: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, with its exact pin: anything looser pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,course,test]"
	# the Python that runs students' notebooks when grading: NumPy, matplotlib, ipykernel; no PyTorch
	$(BIN)/dlb kernel-env
	touch $(STAMP)

# The chapters' outputs are cached by jupyter-cache (_config.yml: execute_notebooks: cache), which
# re-executes a notebook only when its code cells change. It cannot see what the chapters import or
# run with: the modules of lib/dlbasics they import (not the grader, lib/dlbgrader) and the
# pinned environment (pyproject.toml, constraints.txt); nor does
# Sphinx notice a change in the book's local extensions (_ext/). So we stamp a hash of those
# (scripts/book_stamp.py) in _build/
# and, when it differs (or there is no stamp: fresh clone, failed build), delete the execution cache
# AND Sphinx's saved environment (.doctrees): without the latter Sphinx would not even re-read the
# unchanged notebooks and would keep their old pages. Every chapter is then executed again. The
# stamp is written only after a successful build.
BOOK_DEPS_STAMP := _build/.book-deps.sha256

book: $(STAMP)
	@hash=$$($(BIN)/python scripts/book_stamp.py) || exit 1; \
	if [ "$$(cat $(BOOK_DEPS_STAMP) 2>/dev/null)" != "$$hash" ]; then \
	  echo "what the chapters import, the environment or the book's extensions changed since the last build (or no stamp): executing every chapter again"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees $(BOOK_DEPS_STAMP); \
	fi; \
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going \
	  && mkdir -p _build && echo "$$hash" > $(BOOK_DEPS_STAMP)

# Two pytest workers: the book build, the browser tests and the grading round trips overlap (tests that
# share a fixture stay together: tests/conftest.py). PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

# Debian packages the tests use: Chromium (browser test of the site) and a Korean font for the
# glossary (fonts-nanum), bubblewrap (the grading
# sandbox), PostgreSQL (gradebook on a database server). Installed when missing and we are root;
# otherwise say which are missing (the tests that need them then fail with the same advice).
sysdeps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	fc-list :lang=ko 2>/dev/null | grep -q . || missing="$$missing fonts-nanum"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "warning: missing Debian packages:$$missing (sudo apt-get install$$missing)" >&2; \
	  fi; \
	fi

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not slow"

# Regenerate the student versions in exercises/ from solutions/ (commit the result).
exercises: $(STAMP)
	$(BIN)/dlb release --all

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf _build
