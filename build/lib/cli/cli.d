build/lib/cli/cli.o: lib/cli/cli.c lib/cli/cli.h lib/common/err.h \
 lib/common/errcodes.def lib/common/util.h
lib/cli/cli.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/common/util.h:
