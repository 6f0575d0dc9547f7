build/lib/storage/registry.o: lib/storage/registry.c \
 lib/storage/storage.h lib/common/err.h lib/common/errcodes.def \
 lib/config/config.h lib/io/writer.h
lib/storage/storage.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/config/config.h:
lib/io/writer.h:
