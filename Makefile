# Developer tasks. Run them inside the project's virtual environment.
PYTHON ?= python
# silence mkdocs-material's banner about MkDocs 2 (not a build warning)
export NO_MKDOCS_2_WARNING = 1

.PHONY: help docs docs-images docs-serve examples

help:
	@echo "make docs         build the documentation (mkdocs build --strict: warnings fail)"
	@echo "make docs-images  regenerate docs/img/*.png from the bundled example (needs chromium)"
	@echo "make docs-serve   serve the documentation locally"
	@echo "make examples     run every script in examples/ (each writes its PNG)"

# needs: pip install ".[docs]"
docs:
	$(PYTHON) -m mkdocs build --strict

docs-serve:
	$(PYTHON) -m mkdocs serve

# needs the package and, for the report screenshot, chromium (apt-get install -y chromium)
docs-images:
	$(PYTHON) docs/scripts/make_images.py

# every example script, in order; stops at the first failure
examples:
	@set -e; found=0; \
	for f in examples/*.py; do \
	  [ -e "$$f" ] || continue; found=1; \
	  echo "== $$f"; $(PYTHON) "$$f"; \
	done; \
	if [ $$found -eq 0 ]; then echo "no scripts in examples/"; fi
