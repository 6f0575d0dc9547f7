build/lib/odoo/manifest.o: lib/odoo/manifest.c lib/odoo/manifest.h \
 lib/common/err.h lib/common/errcodes.def /usr/include/cjson/cJSON.h \
 lib/common/util.h
lib/odoo/manifest.h:
lib/common/err.h:
lib/common/errcodes.def:
/usr/include/cjson/cJSON.h:
lib/common/util.h:
