build/lib/storage/local.o: lib/storage/local.c lib/storage/storage.h \
 lib/common/err.h lib/common/errcodes.def lib/config/config.h \
 lib/io/writer.h lib/common/util.h
lib/storage/storage.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/config/config.h:
lib/io/writer.h:
lib/common/util.h:
