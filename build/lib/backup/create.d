build/lib/backup/create.o: lib/backup/create.c lib/backup/backup.h \
 lib/catalog/catalog.h lib/common/err.h lib/common/errcodes.def \
 lib/config/config.h lib/io/writer.h lib/odoo/manifest.h \
 lib/storage/storage.h lib/common/util.h lib/io/exec.h lib/io/tar.h \
 lib/odoo/odoo.h /usr/include/postgresql/libpq-fe.h \
 /usr/include/postgresql/postgres_ext.h \
 /usr/include/postgresql/pg_config_ext.h lib/pg/pg.h
lib/backup/backup.h:
lib/catalog/catalog.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/config/config.h:
lib/io/writer.h:
lib/odoo/manifest.h:
lib/storage/storage.h:
lib/common/util.h:
lib/io/exec.h:
lib/io/tar.h:
lib/odoo/odoo.h:
/usr/include/postgresql/libpq-fe.h:
/usr/include/postgresql/postgres_ext.h:
/usr/include/postgresql/pg_config_ext.h:
lib/pg/pg.h:
