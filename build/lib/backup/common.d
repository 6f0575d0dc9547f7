build/lib/backup/common.o: lib/backup/common.c lib/backup/backup.h \
 lib/catalog/catalog.h lib/common/err.h lib/common/errcodes.def \
 lib/config/config.h lib/io/writer.h lib/odoo/manifest.h \
 lib/storage/storage.h /usr/include/cjson/cJSON.h lib/common/util.h
lib/backup/backup.h:
lib/catalog/catalog.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/config/config.h:
lib/io/writer.h:
lib/odoo/manifest.h:
lib/storage/storage.h:
/usr/include/cjson/cJSON.h:
lib/common/util.h:
