/* test-err.c - the error record: context is prepended once (never "storage 's3': storage 's3': ..."), a
 * message too long for the record says it was cut, and each kind has its sysexits code. */
#include <string.h>

#include "common/err.h"
#include "tap.h"

int main(void)
{
    struct odbk_err err = {0};
    char big[1100];

    odbk_err_set(&err, ODBK_E_PERM, "storage 's3': cannot list: AccessDenied (HTTP 403)");
    odbk_err_prefix(&err, "storage '%s'", "s3");
    is_str(err.msg, "storage 's3': cannot list: AccessDenied (HTTP 403)", "a prefix already there is not repeated");
    odbk_err_prefix(&err, "env '%s'", "prod");
    is_str(err.msg, "env 'prod': storage 's3': cannot list: AccessDenied (HTTP 403)", "another one is prepended");
    odbk_err_set(&err, ODBK_E_IO, "storage 's3x': broken");
    odbk_err_prefix(&err, "storage '%s'", "s3");
    is_str(err.msg, "storage 's3': storage 's3x': broken", "a prefix of the prefix is not mistaken for it");
    is_int(odbk_err_exit_code(&err), 74, "I/O is 74");

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    odbk_err_set(&err, ODBK_E_DATA, "%s", big);
    odbk_err_prefix(&err, "file '%s'", "a");
    ok(strlen(err.msg) == sizeof(err.msg) - 1 && !strcmp(err.msg + strlen(err.msg) - 3, "..."),
       "a message cut to fit ends in ...");
    is_int(odbk_err_exit_code(&err), 65, "bad data is 65");
    return done_testing();
}
