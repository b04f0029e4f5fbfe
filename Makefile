# Two commands for a fresh clone (only Python 3.11 needed):
#   make book   - create .venv if missing, install, execute every chapter, build _build/html (warnings are errors)
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
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest

# Debian packages the tests use: Chromium (browser test of the site), bubblewrap (the grading
# sandbox), PostgreSQL (gradebook on a database server). Installed when missing and we are root;
# otherwise say which are missing (the tests that need them then fail with the same advice).
sysdeps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "warning: missing Debian packages:$$missing (sudo apt-get install$$missing)" >&2; \
	  fi; \
	fi

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# Regenerate the student versions in exercises/ from solutions/ (commit the result).
exercises: $(STAMP)
	$(BIN)/dlb release --all

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf _build
