build/tests/unit/test-io.o: tests/unit/test-io.c lib/common/util.h \
 lib/common/err.h lib/common/errcodes.def lib/io/writer.h tests/tap.h
lib/common/util.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/io/writer.h:
tests/tap.h:
