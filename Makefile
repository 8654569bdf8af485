# Mirrors the README's commands.
.PHONY: setup run test benchmarks lint

setup:
	scripts/setup.sh

run:
	scripts/run.sh

test:
	scripts/test.sh $(ARGS)

lint:
	.venv/bin/ruff check fileproc_dagster tests
	.venv/bin/mypy fileproc_dagster
