build/lib/io/tar.o: lib/io/tar.c lib/io/tar.h lib/io/writer.h \
 lib/common/err.h lib/common/errcodes.def lib/common/util.h lib/io/pipe.h
lib/io/tar.h:
lib/io/writer.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/common/util.h:
lib/io/pipe.h:
