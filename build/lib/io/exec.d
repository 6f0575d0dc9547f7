build/lib/io/exec.o: lib/io/exec.c lib/io/exec.h lib/io/writer.h \
 lib/common/err.h lib/common/errcodes.def lib/common/util.h
lib/io/exec.h:
lib/io/writer.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/common/util.h:
