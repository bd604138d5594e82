# fcgihost: `make` builds the library (static and shared) and the demo; `make run` serves
# the demo behind nginx on http://127.0.0.1:8080/; `make check` (or `make test`) runs every
# test, `make check-unit` only the unit tests. Missing Debian packages are named in one line
# (and installed, when run as root); ENSURE_PACKAGES=: skips that check.
CXX        ?= g++
CXXFLAGS   ?= -O2 -g
PKG_CONFIG ?= pkg-config
BUILD      ?= build
PREFIX     ?= /usr/local
# The builds that the test targets start use every core (PARALLEL= builds one file at a time).
PARALLEL   ?= -j$(shell nproc 2>/dev/null || echo 2)
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
WARN       ?= -Wall -Wextra
# Empty for a user's or a packager's build; the test and CI targets set -Werror.
WERROR     ?=
ENSURE_PACKAGES ?= .ci/ensure-packages
VERSION     = 0.1.0
SOVERSION   = 0

# What the build needs whatever CXXFLAGS, CPPFLAGS and LDFLAGS say; theirs come after, so
# they win. Boost.Thread has no pkg-config file on Debian.
FCGI_CFLAGS     := $(shell $(PKG_CONFIG) --cflags fcgi 2>/dev/null)
FCGI_LIBS       := $(or $(shell $(PKG_CONFIG) --libs fcgi 2>/dev/null),-lfcgi)
PROJECT_CPPFLAGS = -Iinclude -Isrc -Itests $(FCGI_CFLAGS) $(SQLITE_CFLAGS) $(PQ_CFLAGS)
# TSan cannot model Asio's memory fences (g++ refuses them under -fsanitize=thread); the
# hand-off they order also goes through the io_context's mutex, which TSan does see.
PROJECT_CPPFLAGS += $(if $(findstring -fsanitize=thread,$(CXXFLAGS)),-DBOOST_ASIO_DISABLE_FENCED_BLOCK)
# The library and its users are C++17; only the coroutine tests build as C++20.
CXX_STD          = -std=c++17
PROJECT_CXXFLAGS = $(CXX_STD) -pthread -MMD -MP $(WARN) $(WERROR)
SQLITE_CFLAGS   := $(shell $(PKG_CONFIG) --cflags sqlite3 2>/dev/null)
SQLITE_LIBS     := $(or $(shell $(PKG_CONFIG) --libs sqlite3 2>/dev/null),-lsqlite3)
PQ_CFLAGS       := $(shell $(PKG_CONFIG) --cflags libpq 2>/dev/null)
PQ_LIBS         := $(or $(shell $(PKG_CONFIG) --libs libpq 2>/dev/null),-lpq)
PROJECT_LIBS     = $(FCGI_LIBS) $(SQLITE_LIBS) $(PQ_LIBS) -lboost_thread -lboost_chrono
LINK             = $(CXX) -pthread $(CXXFLAGS) $(LDFLAGS)

LIB_SRC   = $(filter-out src/demo/% src/jobs_tool/%,$(wildcard src/*/*.cpp))
DEMO_SRC  = $(wildcard src/demo/*.cpp)
TEST_SRC  = $(wildcard tests/*.cpp tests/unit/*.cpp tests/integration/*.cpp tests/support/*.cpp tests/cxx20/*.cpp)
obj       = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(1))
LIB_OBJ   = $(call obj,$(LIB_SRC))
LIB       = $(BUILD)/libfcgihost.a
SONAME    = libfcgihost.so.$(SOVERSION)
SHLIB     = $(BUILD)/libfcgihost.so.$(VERSION)
SHLINKS   = $(BUILD)/$(SONAME) $(BUILD)/libfcgihost.so
DEMO      = $(BUILD)/fcgihost-demo
JOBS_TOOL = $(BUILD)/fcgihost-jobs
TESTS     = $(BUILD)/fcgihost-tests

BUILD_PACKAGES = g++ make pkg-config libfcgi-dev libboost-thread-dev libsqlite3-dev libpq-dev
UNIT_PACKAGES  = $(BUILD_PACKAGES) libcppunit-dev
TEST_PACKAGES  = $(UNIT_PACKAGES) nginx apache2 libapache2-mod-fcgid cmake \
                 haproxy lighttpd caddy libfcgi-bin postgresql-15
RUN_PACKAGES   = $(BUILD_PACKAGES) nginx curl
BENCH_PACKAGES = $(BUILD_PACKAGES) nginx curl wrk php-fpm gnuplot-nox postgresql-15

.PHONY: all test-runner check test check-unit run bench install uninstall clean \
	deps-build deps-unit deps-test deps-run deps-bench check-asan check-tsan fuzz soak
all: $(LIB) $(SHLIB) $(SHLINKS) $(DEMO) $(JOBS_TOOL)

# Order-only: the package check runs before the first compile, not after a missing header.
$(BUILD)/obj/%.o: %.cpp | deps-build
	@mkdir -p $(dir $@)
	$(CXX) $(PROJECT_CPPFLAGS) $(CPPFLAGS) $(PROJECT_CXXFLAGS) $(PIC) $(CXXFLAGS) -c $< -o $@

# One set of position-independent objects serves both libraries.
$(LIB_OBJ): PIC = -fPIC

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(SHLIB): $(LIB_OBJ)
	$(LINK) -shared -Wl,-soname,$(SONAME) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@

$(SHLINKS): $(SHLIB)
	ln -sf $(notdir $<) $@

$(DEMO): $(call obj,$(DEMO_SRC)) $(LIB)
	$(LINK) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@

# fcgihost-jobs: lists, shows, retries and deletes durable jobs in a --job-store file.
$(JOBS_TOOL): $(call obj,src/jobs_tool/main.cpp) $(LIB)
	$(LINK) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@

# The test runner needs CppUnit, which a plain `make` does not. The integration tests run
# the demo binary that sits next to it.
$(call obj,$(TEST_SRC)): | deps-unit
$(TESTS): $(call obj,$(TEST_SRC) src/demo/demo_routes.cpp src/demo/demo_durable.cpp) $(LIB) | $(DEMO) $(JOBS_TOOL)
	$(LINK) $^ $(PROJECT_LIBS) -lcppunit $(LDLIBS) -o $@
test-runner: $(TESTS)

# The C++20 coroutine flavour of asynchronous jobs (async_coroutine.hpp) is header-only: its
# tests (tests/cxx20/) compile as C++20 into the one runner, against the C++17 library, as
# a C++20 application would use it.
$(call obj,$(wildcard tests/cxx20/*.cpp)): CXX_STD = -std=c++20

# Suites register as "unit" (no process, no socket beyond a socketpair) or "integration";
# the runner's filter "unit/" selects the first.
check: deps-test
	$(MAKE) --no-print-directory $(PARALLEL) WERROR=-Werror all test-runner
	tests/docs/check-links.sh
	tests/docs/check-layers.sh
	tests/docs/check-examples.sh $(BUILD)
	$(TESTS)
test: check
check-unit: deps-unit
	$(MAKE) --no-print-directory $(PARALLEL) WERROR=-Werror $(TESTS)
	$(TESTS) unit/

run: deps-run
	$(MAKE) --no-print-directory $(DEMO)
	nginx/run-demo.sh $(DEMO)

# Sanitizer builds of the whole suite, each in its own build directory.
check-asan: deps-test
	$(MAKE) --no-print-directory $(PARALLEL) BUILD=build-asan WERROR=-Werror CXXFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" all test-runner
	UBSAN_OPTIONS=halt_on_error=1 build-asan/fcgihost-tests
check-tsan: deps-test
	$(MAKE) --no-print-directory $(PARALLEL) BUILD=build-tsan WERROR=-Werror CXXFLAGS="-O1 -g -fsanitize=thread" all test-runner
	TSAN_OPTIONS=halt_on_error=1 build-tsan/fcgihost-tests

# Benchmarks: fcgihost against raw libfcgi, PHP-FPM and nginx; writes bench/RESULTS.md.
BENCH_BINS = $(addprefix $(BUILD)/,raw_responder bench_app queue_bench shutdown_bench async_bench reload_bench \
	durable_store_bench durable_wake_bench)
$(BUILD)/raw_responder: $(BUILD)/obj/bench/raw_responder.o
	$(LINK) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@
$(BUILD)/bench_app $(BUILD)/queue_bench $(BUILD)/async_bench: $(BUILD)/%: $(BUILD)/obj/bench/%.o $(LIB)
	$(LINK) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@
$(BUILD)/shutdown_bench: $(call obj,bench/shutdown_bench.cpp tests/support/fcgi_client.cpp tests/support/process.cpp)
	$(LINK) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@
# A deploy behind nginx: reload against stop-and-start (bench/sections/reload.sh).
$(BUILD)/reload_bench: $(call obj,bench/reload_bench.cpp tests/support/http_client.cpp tests/support/nginx_process.cpp tests/support/process.cpp)
	$(LINK) $^ $(LDLIBS) -o $@
# SQLite and PostgreSQL side by side (bench/sections/durable.sh runs them).
$(BUILD)/durable_store_bench: $(call obj,bench/durable_store_bench.cpp tests/support/process.cpp) $(LIB)
	$(LINK) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@
$(BUILD)/durable_wake_bench: $(call obj,bench/durable_wake_bench.cpp tests/support/fcgi_client.cpp tests/support/process.cpp)
	$(LINK) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@
bench: deps-bench
	$(MAKE) --no-print-directory $(DEMO) $(BENCH_BINS)
	bench/run.sh $(BUILD)

# Both libraries, the headers (the testing kit included), fcgihost.pc (links the static
# library), fcgihost-shared.pc, the CMake package (fcgihost::fcgihost, static, and
# fcgihost::fcgihost_shared) and the demo. Static is the default because the library
# interposes on libfcgi's OS_Read (src/fastcgi/fcgi_input.hpp): a program linked against the
# shared library keeps that protection only while libfcgihost comes before libfcgi in its
# link line, which pkg-config and CMake ensure but a hand-written `-lfcgi ...` does not.
PC_SUBST = -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	-e 's|@VERSION@|$(VERSION)|' -e 's|@SOVERSION@|$(SOVERSION)|' \
	-e 's|@INCLUDEDIR_FROM_CMAKEDIR@|$(shell realpath -m --relative-to=$(LIBDIR)/cmake/fcgihost $(INCLUDEDIR))|'
CMAKEDIR = $(LIBDIR)/cmake/fcgihost
HEADERS  = $(notdir $(wildcard include/fcgihost/*.hpp))
install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(INCLUDEDIR)/fcgihost $(DESTDIR)$(BINDIR)
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libfcgihost.so
	install -m 644 $(addprefix include/fcgihost/,$(HEADERS)) $(DESTDIR)$(INCLUDEDIR)/fcgihost/
	sed $(PC_SUBST) src/fcgihost.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/fcgihost.pc
	sed $(PC_SUBST) src/fcgihost-shared.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/fcgihost-shared.pc
	sed $(PC_SUBST) src/fcgihostConfig.cmake.in > $(DESTDIR)$(CMAKEDIR)/fcgihostConfig.cmake
	sed $(PC_SUBST) src/fcgihostConfigVersion.cmake.in > $(DESTDIR)$(CMAKEDIR)/fcgihostConfigVersion.cmake
	install -m 755 $(DEMO) $(JOBS_TOOL) $(DESTDIR)$(BINDIR)/

# Removes what `install` put there, and the directories of ours it leaves empty.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libfcgihost.a $(notdir $(SHLIB)) $(SONAME) libfcgihost.so)
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/pkgconfig/,fcgihost.pc fcgihost-shared.pc)
	rm -f $(addprefix $(DESTDIR)$(CMAKEDIR)/,fcgihostConfig.cmake fcgihostConfigVersion.cmake)
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/fcgihost/,$(HEADERS))
	rm -f $(DESTDIR)$(BINDIR)/fcgihost-demo $(DESTDIR)$(BINDIR)/fcgihost-jobs
	rmdir $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(INCLUDEDIR)/fcgihost 2>/dev/null || true

deps-build:
	@$(ENSURE_PACKAGES) $(BUILD_PACKAGES)
deps-unit:
	@$(ENSURE_PACKAGES) $(UNIT_PACKAGES)
deps-test:
	@$(ENSURE_PACKAGES) $(TEST_PACKAGES)
deps-run:
	@$(ENSURE_PACKAGES) $(RUN_PACKAGES)
deps-bench:
	@$(ENSURE_PACKAGES) $(BENCH_PACKAGES)

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
	$(CXX) -pthread $(CXXFLAGS:fuzzer-no-link=fuzzer) $(LDFLAGS) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@
fuzz: deps-fuzz
	$(MAKE) --no-print-directory $(PARALLEL) BUILD=$(FUZZ_BUILD) CXX=$(FUZZ_CXX) WERROR=-Werror \
		CXXFLAGS="-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SANITIZE)" $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS))
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
deps-fuzz:
	@$(ENSURE_PACKAGES) $(FUZZ_PACKAGES)

# Soak (not part of `make test`, about 2 minutes): 10^6 jobs and 10^5 other requests through
# the demo; its memory must come back to where it was after warm-up, and a full queue must
# refuse rather than grow. See tests/soak/soak_main.cpp.
SOAK = $(BUILD)/fcgihost-soak
$(SOAK): $(call obj,tests/soak/soak_main.cpp tests/support/fcgi_client.cpp tests/support/process.cpp tests/support/proc_stats.cpp)
	$(LINK) $^ $(PROJECT_LIBS) $(LDLIBS) -o $@
soak: deps-build
	$(MAKE) --no-print-directory $(DEMO) $(SOAK)
	$(SOAK) $(DEMO)
