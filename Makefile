# umalloc — one Makefile, no generator.
#   make              build/libumalloc.so(.1), build/libumalloc.a (release)
#   make DEBUG=1      build/debug/...: full heap check after every call
#   make asan | tsan  build/asan|tsan/libumalloc.a: names prefixed umalloc_*
#   make test         everything a reviewer would run (see tests/README.md)
#   make run          the seeds' tour on umalloc
#   make bench        the side-by-side benchmark (bench/README.md)
#   make install PREFIX=/usr/local [DESTDIR=...]   /   make uninstall
#
# The user's CC, CPPFLAGS, CFLAGS and LDFLAGS are honoured: they come after
# ours, so they can override them. Warnings are errors only with WERROR=1
# (which `make test` and CI set): a newer compiler's new warning must not
# break a user's build.

ifeq ($(origin CC),default)
CC      := gcc
endif
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
BINDIR  ?= $(PREFIX)/bin
INCDIR  ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man
WERROR  ?= 0

# ABI version: the SONAME is libumalloc.so.$(SOVERSION).
SOVERSION := 1
VERSION   := $(shell sed -n 's/^\#define UMALLOC_VERSION "\(.*\)"/\1/p' include/umalloc.h)

SRCS    := os.c print.c heap.c owner.c arena.c central.c large.c trim.c purge.c tcache.c malloc.c options.c walk.c stats.c heapsvg.c report.c timeline.c check.c
WARN    := -Wall -Wextra -Wmissing-prototypes -Wshadow -Wno-unused-function
ifeq ($(WERROR),1)
WARN    += -Werror
endif
BASE    := -std=c11 -D_GNU_SOURCE -fPIC -g -fvisibility=hidden -ftls-model=initial-exec \
           -fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free \
           -Iinclude -Isrc $(WARN)
RELFLAGS := -O2 -fno-tree-slp-vectorize
DBGFLAGS := -O1 -DUM_DEBUG=1

ifeq ($(DEBUG),1)
OUT    := build/debug
CFLAGS_ := $(BASE) $(DBGFLAGS)
else
OUT    := build
CFLAGS_ := $(BASE) $(RELFLAGS)
endif

HDRS := $(wildcard src/*.h) include/umalloc.h
OBJS := $(SRCS:%.c=$(OUT)/obj/%.o)
SONAME := libumalloc.so.$(SOVERSION)

.PHONY: all debug asan tsan test run bench bench-quick install uninstall clean format examples FORCE

all: $(OUT)/libumalloc.so $(OUT)/libumalloc.a $(OUT)/libumalloc-internal.a

# Objects are rebuilt when the compiler or any flag changes, WERROR included
# (so `make test` recompiles what a plain `make` built without -Werror).
$(OUT)/flags: FORCE
	@mkdir -p $(OUT)
	@echo '$(CC) $(CFLAGS_) $(CPPFLAGS) $(CFLAGS) | $(LDFLAGS)' > $@.new
	@cmp -s $@.new $@ && rm -f $@.new || mv -f $@.new $@

# The reports (picture, statistics text, timeline, heap walk, full check)
# never run on an allocation path: in the release build they are compiled
# for size. Every text page of the library that a program touches stays
# resident (the kernel maps 64 KiB around each fault), so a smaller library
# is a smaller RSS for every program that preloads it.
COLD_SRCS := heapsvg.c stats.c report.c timeline.c walk.c check.c
COLD_OPT  := $(if $(filter 1,$(DEBUG)),,-Os)
# ... and their code (with print.c's, the message printer) goes to a segment
# of its own in the release library (src/cold.ld says why). Not in the debug
# build, whose check runs after every call.
COLD_SEG  := $(if $(filter 1,$(DEBUG)),,$(COLD_SRCS) print.c)
TO_COLD   := objcopy --rename-section .text=.umcold
# The allocation layers' code is split in two as well: the functions that
# almost every program runs (src/hot.list says which and why) stay in
# .text, the rest go to .umwarm, a segment of its own (src/cold.ld). Each
# function gets a section of its own to be moved by name.
HOT_LIST  := src/hot.list
SPLIT     := $(if $(COLD_SEG),-ffunction-sections)
TO_WARM   := sh tools/warm_text.sh
# An object whose renaming failed must not survive as if built.
.DELETE_ON_ERROR:

$(OUT)/obj/%.o: src/%.c $(HDRS) Makefile $(OUT)/flags $(if $(SPLIT),$(HOT_LIST) tools/warm_text.sh)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS_) $(if $(filter $(COLD_SRCS),$(<F)),$(COLD_OPT)) $(if $(filter $(COLD_SEG),$(<F)),,$(SPLIT)) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
	@$(if $(filter $(COLD_SEG),$(<F)),$(TO_COLD) $@,$(if $(SPLIT),$(TO_WARM) $@ $(HOT_LIST)))

# DT_RELR (glibc >= 2.36, binutils >= 2.38) packs the library's ~120
# relative relocations into a few words: the part of the file the loader
# reads (headers, symbols, relocations) shrinks from three pages to two,
# one resident page less in every process. Probed: a toolchain without it
# links the usual way (the probe links into a temporary file: some linkers
# replace their output by renaming over it, which /dev/null must not be).
RELR := $(shell t=$$(mktemp) && printf 'int x; int *p = &x;\n' | $(CC) -shared -fPIC -Wl,-z,pack-relative-relocs -x c - -o $$t 2>/dev/null && echo -Wl,-z,pack-relative-relocs; rm -f $$t)

# libumalloc.so.1 carries the SONAME; libumalloc.so is the link-time (and
# LD_PRELOAD) name.
# src/cold.ld, probed as RELR is (a linker without INSERT links the usual
# way: .umcold then lands beside .text, in the same segment).
COLDLD := $(shell t=$$(mktemp) && printf 'void f(void) {}\n' | $(CC) -shared -fPIC -Wl,-T,src/cold.ld -x c - -o $$t 2>/dev/null && echo -Wl,-T,src/cold.ld; rm -f $$t)

$(OUT)/$(SONAME): $(OBJS) src/cold.ld
	$(CC) -shared -Wl,-z,now $(RELR) $(if $(COLD_SEG),$(COLDLD)) -Wl,-soname,$(SONAME) $(LDFLAGS) -o $@ $(OBJS) -lpthread
$(OUT)/libumalloc.so: $(OUT)/$(SONAME)
	ln -sf $(SONAME) $@

# The static library users link: one relocatable object whose hidden (um_*)
# symbols are made local, so they cannot clash with the program's names.
$(OUT)/libumalloc.a: $(OBJS)
	$(LD) -r -o $(OUT)/umalloc.o $^
	objcopy --localize-hidden $(OUT)/umalloc.o
	rm -f $@ && ar rcs $@ $(OUT)/umalloc.o
# The white-box unit tests call um_* internals: they link this one.
$(OUT)/libumalloc-internal.a: $(OBJS)
	rm -f $@ && ar rcs $@ $^

debug:
	$(MAKE) DEBUG=1

# Prefixed builds for the sanitizers (they cannot sit on a replaced malloc).
build/asan/obj/%.o: src/%.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(BASE) -O1 -DUM_PREFIX -DUMALLOC_PREFIXED -fsanitize=address,undefined -fno-sanitize-recover=undefined $(CPPFLAGS) $(CFLAGS) -c $< -o $@
# One relocatable object, as in the installed libumalloc.a, so every file's
# constructors (report.c's UMALLOC_* setup) come along; internals stay global
# for the unit tests.
build/asan/libumalloc.a: $(SRCS:%.c=build/asan/obj/%.o)
	$(LD) -r -o build/asan/umalloc.o $^
	rm -f $@ && ar rcs $@ build/asan/umalloc.o
build/tsan/obj/%.o: src/%.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(BASE) -O1 -DUM_PREFIX -DUMALLOC_PREFIXED -fsanitize=thread $(CPPFLAGS) $(CFLAGS) -c $< -o $@
build/tsan/libumalloc.a: $(SRCS:%.c=build/tsan/obj/%.o)
	$(LD) -r -o build/tsan/umalloc.o $^
	rm -f $@ && ar rcs $@ build/tsan/umalloc.o
asan: build/asan/libumalloc.a
tsan: build/tsan/libumalloc.a

examples: build/examples/tour
build/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Iinclude $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) -ldl

run: all build/examples/tour
	LD_PRELOAD=$(CURDIR)/build/libumalloc.so build/examples/tour

test:
	$(MAKE) WERROR=1 all
	$(MAKE) WERROR=1 DEBUG=1 all
	$(MAKE) WERROR=1 asan tsan examples
	python3 tests/run.py --variant release debug asan tsan

bench: all
	sh bench/install-peers.sh
	python3 bench/run.py
	python3 bench/readme_tables.py

bench-quick: all
	python3 bench/run.py --quick --skip-missing

# DESTDIR stages the install (packagers); umrun finds the library at
# ../lib next to itself, so a staged tree works as well as the real one.
install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 755 build/$(SONAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libumalloc.so
	install -m 644 build/libumalloc.a $(DESTDIR)$(LIBDIR)/
	install -m 644 include/umalloc.h $(DESTDIR)$(INCDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' tools/umalloc.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/umalloc.pc
	sed -e 's|^UMRUN_LIBDIR=.*|UMRUN_LIBDIR=$(LIBDIR)|' tools/umrun > $(DESTDIR)$(BINDIR)/umrun
	chmod 755 $(DESTDIR)$(BINDIR)/umrun
	install -m 644 docs/umrun.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/umalloc.3 $(DESTDIR)$(MANDIR)/man3/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libumalloc.so \
	    $(DESTDIR)$(LIBDIR)/libumalloc.a $(DESTDIR)$(LIBDIR)/pkgconfig/umalloc.pc \
	    $(DESTDIR)$(INCDIR)/umalloc.h $(DESTDIR)$(BINDIR)/umrun \
	    $(DESTDIR)$(MANDIR)/man1/umrun.1 $(DESTDIR)$(MANDIR)/man3/umalloc.3

format:
	clang-format -i src/*.c src/*.h include/*.h

clean:
	rm -rf build
