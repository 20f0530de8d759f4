# Zentrale — the two commands a new user needs:
#   make run    install missing Debian packages, build, start the server (data in ./var)
#   make test   also install the test tools, build with ASan+UBSan, run every test
# `make` alone builds build/zentrale.

BUILD   ?= build
DATA    ?= ./var
MESON    = meson

.PHONY: all build run test deps deps-test format clean bench bundle

all: build

# One build directory; `make test` switches it to the sanitizer build and
# `make` back, so build/meson-logs/testlog.json is always the last test run.
$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --buildtype=debugoptimized

build: $(BUILD)/build.ninja
	$(MESON) configure $(BUILD) -Db_sanitize=none -Db_lundef=true -Dtests=false >/dev/null
	ninja -C $(BUILD)

deps:
	./scripts/deps.sh run

deps-test:
	./scripts/deps.sh test

run: deps
	$(MAKE) build
	./$(BUILD)/zentrale server --data-dir $(DATA)

test: deps-test $(BUILD)/build.ninja
	$(MESON) configure $(BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dtests=true >/dev/null
	ninja -C $(BUILD)
	./scripts/includes.sh >$(BUILD)/includes.txt || { cat $(BUILD)/includes.txt; exit 1; }
	./scripts/run-tests.sh $(BUILD)

# A signed release bundle for system updates (docs/api.md, /update):
#   make bundle KEY=release.key [VERSION=0.2.0] [OUT=file]
# builds a release binary that reports VERSION in build-release/ and signs it.
# Make a key pair once with: ./build/zentrale bundle-key --out release
VERSION ?= $(shell sed -n "s/^  version : '\(.*\)',/\1/p" meson.build)
OUT     ?= build-release/zentrale-$(VERSION).bundle
bundle:
	@test -n "$(KEY)" || { echo "make bundle KEY=<secret key file> [VERSION=x.y.z]"; exit 2; }
	test -f build-release/build.ninja || $(MESON) setup build-release --buildtype=release
	$(MESON) configure build-release -Dversion=$(VERSION) >/dev/null
	ninja -C build-release
	./build-release/zentrale bundle --key $(KEY) --out $(OUT)

# bench/sip: Zentrale beside Kamailio (registrations, call set-ups, CPU per
# operation, overload recovery, media relay); ARGS="--quick" for a short check.
bench:
	./scripts/deps.sh bench
	./bench/sip $(ARGS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
