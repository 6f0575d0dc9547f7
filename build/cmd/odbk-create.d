build/cmd/odbk-create.o: cmd/odbk-create.c /usr/include/cjson/cJSON.h \
 lib/backup/backup.h lib/catalog/catalog.h lib/common/err.h \
 lib/common/errcodes.def lib/config/config.h lib/io/writer.h \
 lib/odoo/manifest.h lib/storage/storage.h lib/cli/cli.h \
 lib/cli/progress.h lib/common/util.h
/usr/include/cjson/cJSON.h:
lib/backup/backup.h:
lib/catalog/catalog.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/config/config.h:
lib/io/writer.h:
lib/odoo/manifest.h:
lib/storage/storage.h:
lib/cli/cli.h:
lib/cli/progress.h:
lib/common/util.h:
