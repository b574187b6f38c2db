# tests/fuzz/fuzz.mk: the libFuzzer builds of the harnesses (GNU make).
#
# Run by `make fuzz` in a configured build directory (tests/fuzz/fuzz.am
# passes the variables below); it does not touch the normal (gcc) build.
# Every tests/fuzz/fuzz-NAME.c becomes $(out)/fuzz-NAME, linked with one
# archive holding the parts' sources and the harnesses' shared code, all
# compiled with clang, libFuzzer, ASan and UBSan.
#
#   srcdir       the source tree (absolute)
#   out          where objects and harnesses go (absolute)
#   FUZZ_CC      the compiler (clang)
#   LIB_SOURCES  the parts' sources, relative to srcdir (from the automake
#                lists, so that a new source file of a part is never missed)
#   DEFS         configure's -D flags; WARN_CFLAGS its warnings
#   DEP_CFLAGS, DEP_LIBS  libblkid, libdeflate, zlib, libhivex
FUZZ_CC ?= clang
SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -g -O1
INCLUDES := $(addprefix -I$(srcdir)/,common/utils common/vmdk common/vix \
	disklib/include mntapi/discover mntapi/lvm mntapi/inspect bridge/fuse tests/fuzz)
CFLAGS_ALL := $(WARN_CFLAGS) -D_GNU_SOURCE $(DEFS) $(INCLUDES) $(DEP_CFLAGS) $(SAN)

HARNESS_SRC := $(sort $(wildcard $(srcdir)/tests/fuzz/fuzz-*.c))
HARNESSES := $(patsubst $(srcdir)/tests/fuzz/%.c,$(out)/%,$(HARNESS_SRC))
SUPPORT_SRC := $(filter %.c,$(LIB_SOURCES)) tests/fuzz/memfile.c tests/fuzz/image.c
SUPPORT_OBJ := $(patsubst %.c,$(out)/obj/%.o,$(SUPPORT_SRC))
HEADERS := $(wildcard $(addsuffix /*.h,$(addprefix $(srcdir)/,common/utils \
	common/vmdk common/vix mntapi/discover mntapi/lvm mntapi/inspect bridge/fuse tests/fuzz)))

all: $(HARNESSES)

$(out)/obj/%.o: $(srcdir)/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC(fuzz) $*.c"
	@$(FUZZ_CC) $(CFLAGS_ALL) -c -o $@ $<

$(out)/libfuzzsupport.a: $(SUPPORT_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(out)/fuzz-%: $(out)/obj/tests/fuzz/fuzz-%.o $(out)/libfuzzsupport.a
	@echo "  LD(fuzz) $(notdir $@)"
	@$(FUZZ_CC) $(SAN) -fsanitize=fuzzer -o $@ $^ $(DEP_LIBS) -lpthread

.PHONY: all
.SECONDARY:
