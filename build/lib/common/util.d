build/lib/common/util.o: lib/common/util.c lib/common/util.h \
 lib/common/err.h lib/common/errcodes.def
lib/common/util.h:
lib/common/err.h:
lib/common/errcodes.def:
