build/tests/helper/odbk-test-storage.o: tests/helper/odbk-test-storage.c \
 lib/common/util.h lib/common/err.h lib/common/errcodes.def \
 lib/config/config.h lib/storage/storage.h lib/io/writer.h
lib/common/util.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/config/config.h:
lib/storage/storage.h:
lib/io/writer.h:
