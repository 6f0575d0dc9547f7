build/lib/io/pipe.o: lib/io/pipe.c lib/io/pipe.h lib/io/writer.h \
 lib/common/err.h lib/common/errcodes.def lib/common/util.h
lib/io/pipe.h:
lib/io/writer.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/common/util.h:
