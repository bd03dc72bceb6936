# Developer tasks. Run them inside the project's virtual environment.
PYTHON ?= python
# silence mkdocs-material's banner about MkDocs 2 (not a build warning)
export NO_MKDOCS_2_WARNING = 1

.PHONY: help docs docs-images docs-serve examples

help:
	@echo "make docs         build the documentation (mkdocs build --strict: warnings fail)"
	@echo "make docs-images  regenerate docs/img/*.png from the bundled example (needs chromium)"
	@echo "make docs-serve   serve the documentation locally"
	@echo "make examples     run every script in examples/ (PNGs into docs/img/examples/; minutes)"

# needs: pip install ".[docs]"
docs:
	$(PYTHON) -m mkdocs build --strict

docs-serve:
	$(PYTHON) -m mkdocs serve

# needs the package and, for the report screenshot, chromium (apt-get install -y chromium)
docs-images:
	$(PYTHON) docs/scripts/make_images.py

# every example script: the paper's figures first (the fast ones, then the two that train
# models, minutes each), then any other script in examples/; stops at the first failure.
# Files starting with "_" are helpers, not examples. EXAMPLE_ARGS="--seed 1" (or --out DIR)
# passes options that every script has.
EXAMPLES_FIRST = fig3a_lozi fig3b_border_collision fig5_chaos duffing_lorenz cortical_neuron
examples:
	@set -e; \
	for n in $(EXAMPLES_FIRST); do \
	  echo "== examples/$$n.py"; $(PYTHON) "examples/$$n.py" $(EXAMPLE_ARGS); \
	done; \
	for f in examples/*.py; do \
	  n=$$(basename "$$f" .py); \
	  case " _ $(EXAMPLES_FIRST) " in *" $$n "*) continue;; esac; \
	  case "$$n" in _*) continue;; esac; \
	  echo "== $$f"; $(PYTHON) "$$f" $(EXAMPLE_ARGS); \
	done
