.PHONY: demo test setup lint

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

# The tests also drive Debian's Chromium (headless) for the pages.
test:
	@EXTRA_DEBIAN_PACKAGES="chromium" bash scripts/setup.sh
	@.venv/bin/python -m pytest $(PYTEST_ARGS)

lint: setup
	@.venv/bin/ruff check . && .venv/bin/mypy roaming payments
