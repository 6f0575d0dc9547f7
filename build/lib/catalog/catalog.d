build/lib/catalog/catalog.o: lib/catalog/catalog.c lib/catalog/catalog.h \
 lib/common/err.h lib/common/errcodes.def lib/common/util.h
lib/catalog/catalog.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/common/util.h:
