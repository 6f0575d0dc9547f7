/* s3.h - the S3-compatible storage driver (`type = s3`): what other modules and the unit tests may use.
 *
 * The driver itself is reached through the storage interface (storage.h); only the multipart part-size
 * planner is public, because its arithmetic is worth testing on its own (tests/unit/test-s3.c). */
#ifndef ODBK_S3_H
#define ODBK_S3_H

#include <stdint.h>

#define ODBK_S3_MIN_PART (5ULL << 20)             /* every part but the last: at least 5 MiB */
#define ODBK_S3_MAX_PART (5ULL << 30)             /* at most 5 GiB */
#define ODBK_S3_MAX_PARTS 10000U                  /* part numbers 1..10000 */
#define ODBK_S3_MAX_OBJECT (5ULL << 40)           /* 5 TiB */
#define ODBK_S3_MAX_PRESIGN 604800L               /* X-Amz-Expires: 7 days */

/* The size of every part (but the last) of an upload whose expected size is size_hint (0 = unknown).
 *
 * The hint is an estimate (database and filestore sizes before compression), and parts cannot change size
 * once an upload has started (R2 requires equal parts), so the plan is conservative: the part size is the
 * smallest whole number of MiB for which 10,000 parts hold twice the hint (capped at 5 TiB, the largest
 * object), never below `configured` (the `part-size` key; 0 = not set) nor 5 MiB, never above 5 GiB.
 * An upload that outgrows even that fails cleanly at part 10,001 (and is aborted): see s3-upload.c. */
uint64_t odbk_s3_part_size(uint64_t size_hint, uint64_t configured);

#endif
