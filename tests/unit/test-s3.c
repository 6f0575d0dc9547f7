/* test-s3.c - the S3 driver's pure parts: the multipart part-size planner (uniform parts of whole MiB,
 * at least 5 MiB, at most 10,000 parts for hints up to 5 TiB, room for twice the hint), SigV4 against the
 * published AWS example, URI encoding, the XML reader (exact tags, entities), and the pool of part buffers
 * (one budget, waits and wakes, reuse, room made from free buffers of another size, peak under threads). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "storage/s3-internal.h"
#include "tap.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define TIB (1ULL << 40)

static uint64_t parts_for(uint64_t size, uint64_t part)
{
    return size ? (size + part - 1) / part : 1;
}

static void planner(void)
{
    static const uint64_t hints[] = {0, 1, 5 * MIB, 100 * MIB, 1 * GIB, 47 * GIB, 48 * GIB + 1, 100 * GIB,
                                     1 * TIB, 2 * TIB + 12345, 5 * TIB - 1, 5 * TIB};
    size_t i;
    int all_min = 1, all_mib = 1, all_cover = 1, all_margin = 1, all_max = 1;
    uint64_t h;
    is_int(odbk_s3_part_size(0, 0), 5 * MIB, "unknown size: 5 MiB parts");
    is_int(odbk_s3_part_size(100 * MIB, 0), 5 * MIB, "100 MiB: 5 MiB parts");
    is_int(odbk_s3_part_size(100 * GIB, 0), 21 * MIB, "100 GiB: 21 MiB parts (2 x 100 GiB / 10000, rounded up)");
    is_int(odbk_s3_part_size(0, 8 * MIB), 8 * MIB, "part-size override is used");
    is_int(odbk_s3_part_size(1 * TIB, 8 * MIB), 210 * MIB, "an override too small for the hint is raised");
    is_int(odbk_s3_part_size(0, 1 * MIB), 5 * MIB, "never below 5 MiB");
    is_int(odbk_s3_part_size(0, 6 * GIB), 5 * GIB, "never above 5 GiB");
    for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
        uint64_t p = odbk_s3_part_size(hints[i], 0);
        all_min &= p >= 5 * MIB;
        all_max &= p <= 5 * GIB;
        all_mib &= p % MIB == 0;
        all_cover &= parts_for(hints[i], p) <= 10000;
        all_margin &= parts_for(hints[i] * 2 > 5 * TIB ? 5 * TIB : hints[i] * 2, p) <= 10000;
    }
    /* every hint from 1 GiB to 5 TiB in steps of a prime number of bytes */
    for (h = GIB; h <= 5 * TIB; h += 7919ULL * MIB + 13) {
        uint64_t p = odbk_s3_part_size(h, 0);
        all_min &= p >= 5 * MIB;
        all_mib &= p % MIB == 0;
        all_cover &= parts_for(h, p) <= 10000;
    }
    ok(all_min, "every part size is at least 5 MiB");
    ok(all_max, "every part size is at most 5 GiB");
    ok(all_mib, "every part size is a whole number of MiB (the same for every part)");
    ok(all_cover, "10,000 parts hold the hint, for hints up to 5 TiB");
    ok(all_margin, "10,000 parts hold twice the hint (an underestimate by half still fits)");
    ok(parts_for(5 * TIB, odbk_s3_part_size(5 * TIB, 0)) <= 10000, "a 5 TiB object fits in 10,000 parts");
    ok(odbk_s3_part_size(48 * GIB, 0) > 5 * MIB, "48 GiB needs parts larger than 5 MiB");
}

static void sigv4(void)
{
    /* "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)", S3 API reference */
    struct odbk_s3 s = {0};
    char *url;
    s.scheme = "https";
    s.endpoint_host = "s3.amazonaws.com";
    s.bucket = "examplebucket";
    s.region = "us-east-1";
    s.prefix = "";
    s.access_key = "AKIAIOSFODNN7EXAMPLE";
    s.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    url = odbk_s3_presign_url(&s, "test.txt", 86400, 1369353600 /* 2013-05-24T00:00:00Z */);
    is_str(url,
           "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
           "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
           "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
           "presigned URL matches the AWS example");
    free(url);
    s.path_style = 1;
    s.endpoint_host = "127.0.0.1:9000";
    s.scheme = "http";
    url = odbk_s3_presign_url(&s, "a b/c+d.txt", 60, 1369353600);
    ok(!strncmp(url, "http://127.0.0.1:9000/examplebucket/a%20b/c%2Bd.txt?", 52), "path-style URL, key encoded");
    free(url);
}

static void encoding(void)
{
    char *e = odbk_s3_uri_encode("a/b c~d_e.f-g+h=i&é", 1);
    is_str(e, "a/b%20c~d_e.f-g%2Bh%3Di%26%C3%A9", "uri encoding keeps unreserved and '/'");
    free(e);
    e = odbk_s3_uri_encode("a/b", 0);
    is_str(e, "a%2Fb", "uri encoding of a query value encodes '/'");
    free(e);
}

static void xml(void)
{
    const char *doc = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"x\"><KeyCount>2</KeyCount>"
                      "<IsTruncated>true</IsTruncated><Contents><Key>a&amp;b &lt;c&gt; &#233;&#x41;</Key>"
                      "<Size>12</Size></Contents><Contents><Key>second</Key><Size>0</Size></Contents>"
                      "<NextContinuationToken>1/x+=</NextContinuationToken><Prefix/></ListBucketResult>";
    const char *pos = doc, *end = doc + strlen(doc), *a, *b;
    char *v;
    v = odbk_s3_xml_next(&pos, end, "Key");
    is_str(v, "a&b <c> \xc3\xa9" "A", "<Key> found (not <KeyCount>), entities unescaped");
    free(v);
    v = odbk_s3_xml_next(&pos, end, "Key");
    is_str(v, "second", "next <Key>");
    free(v);
    v = odbk_s3_xml_next(&pos, end, "Key");
    ok(v == NULL, "no third <Key>");
    pos = doc;
    ok(odbk_s3_xml_element(&pos, end, "Contents", &a, &b) == 0 && strstr(a, "<Size>12</Size>") && b - a < 80,
       "<Contents> span");
    pos = doc;
    v = odbk_s3_xml_next(&pos, end, "Prefix");
    is_str(v, "", "empty element <Prefix/>");
    free(v);
    v = odbk_s3_xml_escape("\"etag\" & <x>");
    is_str(v, "&quot;etag&quot; &amp; &lt;x&gt;", "escape for request bodies");
    free(v);
}

struct getter {
    struct odbk_s3_pool *pool;
    size_t size;
    unsigned char *got;
    int done;   /* atomic */
};

static void *getter(void *arg)
{
    struct getter *g = arg;
    g->got = odbk_s3_pool_get(g->pool, g->size);
    __atomic_store_n(&g->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct churn {
    struct odbk_s3_pool *pool;
    int rounds;
};

static void *churner(void *arg)
{
    struct churn *c = arg;
    int i;
    for (i = 0; i < c->rounds; i++) {
        unsigned char *a = odbk_s3_pool_get(c->pool, MIB);
        a[0] = a[MIB - 1] = 1;
        odbk_s3_pool_put(c->pool, a, MIB);
    }
    return NULL;
}

static void pool(void)
{
    struct odbk_s3_pool p;
    struct getter g = {0};
    struct churn c;
    pthread_t t[6];
    unsigned char *a, *b, *d;
    int i;

    odbk_s3_pool_init(&p, 3 * MIB);
    a = odbk_s3_pool_get(&p, MIB);
    b = odbk_s3_pool_get(&p, MIB);
    d = odbk_s3_pool_get(&p, MIB);
    is_int(p.used, 3 * MIB, "three buffers of 1 MiB spend a 3 MiB budget");
    g.pool = &p;
    g.size = MIB;
    pthread_create(&t[0], NULL, getter, &g);
    nap(100);
    ok(!__atomic_load_n(&g.done, __ATOMIC_ACQUIRE), "a fourth buffer waits while the budget is spent");
    odbk_s3_pool_put(&p, b, MIB);
    pthread_join(t[0], NULL);
    ok(g.done && g.got == b, "a buffer given back wakes the waiter, and is reused, not reallocated");
    is_int(p.used, 3 * MIB, "reuse charges nothing more");
    odbk_s3_pool_put(&p, a, MIB);
    odbk_s3_pool_put(&p, d, MIB);
    odbk_s3_pool_put(&p, g.got, MIB);
    is_int(p.used, 3 * MIB, "free buffers stay charged (kept for reuse)");
    a = odbk_s3_pool_get(&p, 2 * MIB);   /* room for two of 2 MiB: 4 MiB */
    is_int(p.used, 4 * MIB, "a buffer of another size frees free ones to make room");
    is_int(p.n_free, 2, "only as many as needed");
    odbk_s3_pool_resize(&p, 0, 4 * MIB);
    is_int(p.used, 8 * MIB, "a writer's own first buffer is charged without waiting");
    odbk_s3_pool_resize(&p, 4 * MIB, 0);
    odbk_s3_pool_put(&p, a, 2 * MIB);
    odbk_s3_pool_destroy(&p);

    odbk_s3_pool_init(&p, 3 * MIB);
    a = odbk_s3_pool_get(&p, 4 * MIB);
    b = odbk_s3_pool_get(&p, 4 * MIB);
    ok(a && b, "a part larger than the budget still gets two buffers");
    odbk_s3_pool_put(&p, a, 4 * MIB);
    odbk_s3_pool_put(&p, b, 4 * MIB);
    is_int(p.used, 0, "parts larger than the budget are freed when they come back, not kept");
    is_int(p.n_free, 0, "... and none is on the free list");
    odbk_s3_pool_destroy(&p);

    /* writers come and go (one per pack): each one's first buffer is charged without waiting, by resize,
     * and comes back to the pool like the others; the pool must not keep one more per writer */
    odbk_s3_pool_init(&p, 2 * MIB);
    for (i = 0; i < 20; i++) {
        unsigned char *own = odbk_xmalloc(MIB);
        odbk_s3_pool_resize(&p, 0, MIB);         /* the first buffer, grown to a part */
        a = odbk_s3_pool_get(&p, MIB);           /* the next part's buffer, while the first is in flight */
        odbk_s3_pool_put(&p, own, MIB);          /* part 1 sent */
        odbk_s3_pool_put(&p, a, MIB);            /* the last part sent */
    }
    is_int(p.used, 2 * MIB, "20 writers in turn: buffers coming back over the budget are freed (2 MiB kept)");
    ok(p.n_free <= 2, "at most the budget's buffers on the free list");
    odbk_s3_pool_destroy(&p);

    odbk_s3_pool_init(&p, 3 * MIB);
    c.pool = &p;
    c.rounds = 200;
    for (i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, churner, &c);
    for (i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    ok(odbk_s3_pool_peak(&p) <= 3 * MIB, "six threads taking buffers never exceed the budget");
    ok(p.n_free <= 3, "at most the budget is kept free");
    odbk_s3_pool_destroy(&p);
}

int main(void)
{
    planner();
    sigv4();
    encoding();
    xml();
    pool();
    return done_testing();
}
