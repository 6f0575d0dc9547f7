build/lib/common/err.o: lib/common/err.c lib/common/err.h \
 lib/common/errcodes.def
lib/common/err.h:
lib/common/errcodes.def:
