/* registry.c - the table of storage drivers: adding a store is one line here. */
#include "storage/storage.h"

extern const struct odbk_storage_driver odbk_storage_local_driver;
extern const struct odbk_storage_driver odbk_storage_s3_driver;
extern const struct odbk_storage_driver odbk_storage_sftp_driver;
extern const struct odbk_storage_driver odbk_storage_ftp_driver;

const struct odbk_storage_driver *const odbk_storage_drivers[] = {
    &odbk_storage_local_driver,
    &odbk_storage_s3_driver,
    &odbk_storage_sftp_driver,
    &odbk_storage_ftp_driver,
    NULL,
};
