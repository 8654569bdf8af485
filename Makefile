# Mirrors the README's commands.
.PHONY: setup run test benchmarks lint

setup:
	scripts/setup.sh

run:
	scripts/run.sh

test:
	scripts/test.sh $(ARGS)

benchmarks:
	[ -x .venv/bin/python ] || scripts/setup.sh
	.venv/bin/python -m benchmarks $(ARGS)

lint:
	.venv/bin/ruff check fileproc_dagster tests benchmarks scripts
	.venv/bin/mypy fileproc_dagster benchmarks
