build/lib/io/compress.o: lib/io/compress.c lib/io/writer.h \
 lib/common/err.h lib/common/errcodes.def lib/common/util.h
lib/io/writer.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/common/util.h:
