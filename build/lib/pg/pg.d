build/lib/pg/pg.o: lib/pg/pg.c lib/pg/pg.h \
 /usr/include/postgresql/libpq-fe.h \
 /usr/include/postgresql/postgres_ext.h \
 /usr/include/postgresql/pg_config_ext.h lib/common/err.h \
 lib/common/errcodes.def lib/common/util.h lib/io/exec.h lib/io/writer.h
lib/pg/pg.h:
/usr/include/postgresql/libpq-fe.h:
/usr/include/postgresql/postgres_ext.h:
/usr/include/postgresql/pg_config_ext.h:
lib/common/err.h:
lib/common/errcodes.def:
lib/common/util.h:
lib/io/exec.h:
lib/io/writer.h:
