build/lib/config/config.o: lib/config/config.c lib/config/config.h \
 lib/common/err.h lib/common/errcodes.def lib/common/util.h
lib/config/config.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/common/util.h:
