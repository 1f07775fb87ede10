# umalloc — one Makefile, no generator.
#   make              build/libumalloc.so, build/libumalloc.a (release)
#   make DEBUG=1      build/debug/...: full heap check after every call
#   make asan | tsan  build/asan|tsan/libumalloc.a: names prefixed umalloc_*
#   make test         everything a reviewer would run (see tests/README.md)
#   make run          the seeds' tour on umalloc
#   make bench        the side-by-side benchmark (bench/README.md)
#   make install PREFIX=/usr/local

CC      := gcc
PREFIX  ?= /usr/local
SRCS    := os.c print.c heap.c owner.c arena.c central.c large.c trim.c purge.c tcache.c options.c stats.c check.c malloc.c
WARN    := -Wall -Wextra -Werror -Wmissing-prototypes -Wshadow -Wno-unused-function
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

.PHONY: all debug asan tsan test run bench bench-quick install clean format examples

all: $(OUT)/libumalloc.so $(OUT)/libumalloc.a

$(OUT)/obj/%.o: src/%.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CFLAGS_) -c $< -o $@

$(OUT)/libumalloc.so: $(SRCS:%.c=$(OUT)/obj/%.o)
	$(CC) -shared -Wl,-z,now -Wl,-soname,libumalloc.so -o $@ $^ -lpthread

$(OUT)/libumalloc.a: $(SRCS:%.c=$(OUT)/obj/%.o)
	rm -f $@ && ar rcs $@ $^

debug:
	$(MAKE) DEBUG=1

# Prefixed builds for the sanitizers (they cannot sit on a replaced malloc).
build/asan/obj/%.o: src/%.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(BASE) -O1 -DUM_PREFIX -DUMALLOC_PREFIXED -fsanitize=address,undefined -fno-sanitize-recover=undefined -c $< -o $@
build/asan/libumalloc.a: $(SRCS:%.c=build/asan/obj/%.o)
	rm -f $@ && ar rcs $@ $^
build/tsan/obj/%.o: src/%.c $(HDRS) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(BASE) -O1 -DUM_PREFIX -DUMALLOC_PREFIXED -fsanitize=thread -c $< -o $@
build/tsan/libumalloc.a: $(SRCS:%.c=build/tsan/obj/%.o)
	rm -f $@ && ar rcs $@ $^
asan: build/asan/libumalloc.a
tsan: build/tsan/libumalloc.a

examples: build/examples/tour
build/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Iinclude $< -o $@ -ldl

run: all build/examples/tour
	LD_PRELOAD=$(CURDIR)/build/libumalloc.so build/examples/tour

test:
	$(MAKE) all
	$(MAKE) DEBUG=1 all
	$(MAKE) asan tsan examples
	python3 tests/run.py --variant release debug asan tsan

bench: all
	sh bench/install-peers.sh
	python3 bench/run.py
	python3 bench/readme_tables.py

bench-quick: all
	python3 bench/run.py --quick --skip-missing

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 build/libumalloc.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 build/libumalloc.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/umalloc.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/.*UMALLOC_VERSION "\(.*\)"/\1/p' include/umalloc.h)|' \
	    tools/umalloc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/umalloc.pc

format:
	clang-format -i src/*.c src/*.h include/*.h

clean:
	rm -rf build
