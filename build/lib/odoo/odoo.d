build/lib/odoo/odoo.o: lib/odoo/odoo.c lib/odoo/odoo.h \
 /usr/include/postgresql/libpq-fe.h \
 /usr/include/postgresql/postgres_ext.h \
 /usr/include/postgresql/pg_config_ext.h lib/common/err.h \
 lib/common/errcodes.def /usr/include/cjson/cJSON.h lib/common/util.h
lib/odoo/odoo.h:
/usr/include/postgresql/libpq-fe.h:
/usr/include/postgresql/postgres_ext.h:
/usr/include/postgresql/pg_config_ext.h:
lib/common/err.h:
lib/common/errcodes.def:
/usr/include/cjson/cJSON.h:
lib/common/util.h:
