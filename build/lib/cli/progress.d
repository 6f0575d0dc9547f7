build/lib/cli/progress.o: lib/cli/progress.c lib/cli/progress.h \
 lib/cli/cli.h lib/common/err.h lib/common/errcodes.def lib/common/util.h
lib/cli/progress.h:
lib/cli/cli.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/common/util.h:
