# fcgihost: `make run` serves the demo behind nginx on http://127.0.0.1:8080/,
# `make test` runs every test. Both install missing Debian packages first.
CXX      ?= g++
CXXFLAGS ?= -O2 -g
BUILD    ?= build
PREFIX   ?= /usr/local
VERSION   = 0.1.0
WARN      = -std=c++17 -Wall -Wextra -Werror -pthread -MMD -MP
LDLIBS    = -lfcgi -lboost_thread -lboost_chrono -lpthread

LIB_SRC   = $(wildcard src/*.cpp)
DEMO_SRC  = $(wildcard src/demo/*.cpp)
TEST_SRC  = $(wildcard tests/*.cpp tests/unit/*.cpp tests/integration/*.cpp tests/support/*.cpp)
LIB       = $(BUILD)/libfcgihost.a
DEMO      = $(BUILD)/fcgihost-demo
TESTS     = $(BUILD)/fcgihost-tests
obj       = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(1))

BUILD_PACKAGES = g++ make pkg-config libfcgi-dev libboost-thread-dev libcppunit-dev
TEST_PACKAGES  = $(BUILD_PACKAGES) nginx apache2 libapache2-mod-fcgid haproxy lighttpd caddy libfcgi-bin
RUN_PACKAGES   = $(BUILD_PACKAGES) nginx curl
BENCH_PACKAGES = $(BUILD_PACKAGES) nginx curl wrk php-fpm gnuplot-nox

.PHONY: all test run bench install clean deps-build deps-test deps-run deps-bench check-asan check-tsan fuzz soak
all: $(LIB) $(DEMO) $(TESTS)

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(WARN) $(CXXFLAGS) -Iinclude -Isrc -Itests -c $< -o $@

$(LIB): $(call obj,$(LIB_SRC))
	$(AR) rcs $@ $^

$(DEMO): $(call obj,$(DEMO_SRC)) $(LIB)
	$(CXX) $(WARN) $(CXXFLAGS) $^ $(LDLIBS) -o $@

# The integration tests run the demo binary that sits next to them.
$(TESTS): $(call obj,$(TEST_SRC) src/demo/demo_routes.cpp) $(LIB) | $(DEMO)
	$(CXX) $(WARN) $(CXXFLAGS) $^ $(LDLIBS) -lcppunit -o $@

test: deps-test
	$(MAKE) --no-print-directory all
	$(TESTS)

run: deps-run
	$(MAKE) --no-print-directory $(DEMO)
	nginx/run-demo.sh $(DEMO)

# Sanitizer builds of the whole suite, each in its own build directory.
check-asan: deps-test
	$(MAKE) --no-print-directory BUILD=build-asan CXXFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" all
	UBSAN_OPTIONS=halt_on_error=1 build-asan/fcgihost-tests
check-tsan: deps-test
	$(MAKE) --no-print-directory BUILD=build-tsan CXXFLAGS="-O1 -g -fsanitize=thread" all
	TSAN_OPTIONS=halt_on_error=1 build-tsan/fcgihost-tests

# Library, headers (the testing kit included), pkg-config file and the demo:
# a user's build is then `g++ app.cpp $(pkg-config --cflags --libs fcgihost)`.
# Benchmarks: fcgihost against raw libfcgi, PHP-FPM and nginx; writes bench/RESULTS.md.
BENCH_BINS = $(addprefix $(BUILD)/,raw_responder bench_app queue_bench shutdown_bench)
$(BUILD)/raw_responder: $(BUILD)/obj/bench/raw_responder.o
	$(CXX) $(WARN) $(CXXFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/bench_app $(BUILD)/queue_bench: $(BUILD)/%: $(BUILD)/obj/bench/%.o $(LIB)
	$(CXX) $(WARN) $(CXXFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/shutdown_bench: $(call obj,bench/shutdown_bench.cpp tests/support/fcgi_client.cpp tests/support/process.cpp)
	$(CXX) $(WARN) $(CXXFLAGS) $^ $(LDLIBS) -o $@
bench: deps-bench
	$(MAKE) --no-print-directory $(DEMO) $(BENCH_BINS)
	bench/run.sh $(BUILD)

install: $(LIB) $(DEMO)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/fcgihost $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/fcgihost/*.hpp $(DESTDIR)$(PREFIX)/include/fcgihost/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' src/fcgihost.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/fcgihost.pc
	install -m 755 $(DEMO) $(DESTDIR)$(PREFIX)/bin/

deps-build:
	@.ci/ensure-packages $(BUILD_PACKAGES)
deps-test:
	@.ci/ensure-packages $(TEST_PACKAGES)
deps-run:
	@.ci/ensure-packages $(RUN_PACKAGES)
deps-bench:
	@.ci/ensure-packages $(BENCH_PACKAGES)

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Fuzzing with libFuzzer (clang 14): every tests/fuzz/fuzz_*.cpp is a target, built with
# ASan+UBSan against a coverage-instrumented library in build-fuzz/, and run FUZZ_SECONDS
# each from its seeds in tests/fuzz/corpus/<target>/ (tests/fuzz/run.sh says the rest).
FUZZ_SECONDS  ?= 60
FUZZ_CXX      ?= clang++-14
FUZZ_BUILD     = build-fuzz
FUZZ_TARGETS   = $(patsubst tests/fuzz/%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp))
FUZZ_SANITIZE  = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_PACKAGES  = $(BUILD_PACKAGES) clang-14 libclang-rt-14-dev
FUZZ_HARNESS   = tests/fuzz/in_process_server.cpp tests/support/fcgi_client.cpp
.PHONY: deps-fuzz
$(BUILD)/fuzz_%: $(call obj,tests/fuzz/fuzz_%.cpp $(FUZZ_HARNESS)) $(LIB)
	$(CXX) $(WARN) $(CXXFLAGS:fuzzer-no-link=fuzzer) $^ $(LDLIBS) -o $@
fuzz: deps-fuzz
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CXX=$(FUZZ_CXX) \
		CXXFLAGS="-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SANITIZE)" $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS))
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
deps-fuzz:
	@.ci/ensure-packages $(FUZZ_PACKAGES)

# Soak (not part of `make test`, about 2 minutes): 10^6 jobs and 10^5 other requests through
# the demo; its memory must come back to where it was after warm-up, and a full queue must
# refuse rather than grow. See tests/soak/soak_main.cpp.
SOAK = $(BUILD)/fcgihost-soak
$(SOAK): $(call obj,tests/soak/soak_main.cpp tests/support/fcgi_client.cpp tests/support/process.cpp tests/support/proc_stats.cpp)
	$(CXX) $(WARN) $(CXXFLAGS) $^ $(LDLIBS) -o $@
soak: deps-build
	$(MAKE) --no-print-directory $(DEMO) $(SOAK)
	$(SOAK) $(DEMO)
