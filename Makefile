# smpp-connector: every target works on a fresh Debian machine as root with Python and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test lint typecheck pytest bench demo redis-server ops-tools venv clean fuzz soak

venv: $(STAMP)

$(STAMP): pyproject.toml connector/smpp/_speedups.c
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Debian's redis-server, only when the binary is missing (tests start their own instances).
# redis-server for the tests' private servers, redis-cli (Debian's redis-tools, a dependency
# of redis-server) to create the scale-out tests' three-master cluster.
redis-server:
	@{ command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools; }

# systemd-analyze (unit-file checks) and promtool (alert rules), when they can be installed;
# the tests that need them skip with a printed reason otherwise. Only promtool is taken out of
# Debian's prometheus package: no Prometheus server is installed or started.
ops-tools:
	@command -v systemd-analyze >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null; } || \
		echo "ops-tools: cannot install systemd: the unit-file checks will be skipped"
	@command -v promtool >/dev/null 2>&1 || \
		( set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; cd "$$tmp"; \
		  apt-get update -qq; apt-get download -qq prometheus; \
		  dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool; \
		  install -m 0755 usr/bin/promtool /usr/local/bin/promtool ) || \
		echo "ops-tools: cannot install promtool: the alert-rule checks will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check connector tests bench
	$(BIN)/ruff format --check connector tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) redis-server ops-tools
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP) redis-server
	$(BIN)/python bench/bench_codec.py
	$(BIN)/python bench/bench_receipts.py
	$(BIN)/python bench/bench_scripts.py
	$(BIN)/python bench/bench_segment.py
	$(BIN)/python bench/bench_pacer.py
	$(BIN)/python bench/bench_simulator.py --messages 300000
	$(BIN)/python bench/bench_end_to_end.py --messages 20000
	$(BIN)/python bench/bench_latency.py --seconds 20
	$(BIN)/python bench/bench_backlog.py --messages 200000 --seconds 60

# Coverage-guided fuzzing of the PDU decoder and the receipt parser (atheris when it installs,
# else hypothesis) for a fixed number of inputs; not part of `make test`.
FUZZ_INPUTS ?= 200000
fuzz: $(STAMP)
	@$(BIN)/python -c 'import atheris' 2>/dev/null || $(BIN)/python -m pip install --quiet atheris || \
		echo "fuzz: atheris does not install here: hypothesis runs instead"
	$(BIN)/python bench/fuzz.py --inputs $(FUZZ_INPUTS)

# The fault classes of tests/faults for SOAK_MINUTES (SIGKILLs, Redis restarts, hostile
# carriers, reload storms, ...), ending with a table; not part of `make test`.
SOAK_MINUTES ?= 30
soak: $(STAMP) redis-server
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES)

demo: $(STAMP) redis-server
	$(BIN)/python -m connector.app.demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
