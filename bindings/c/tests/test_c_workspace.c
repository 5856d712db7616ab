/* maunet_model_predict_ws with a workspace makes no heap allocation: this program replaces
 * malloc and its relatives (glibc: they forward to __libc_malloc, ...), which every allocation
 * of the process goes through (C++'s operator new, Eigen, OpenMP's run-time, on every thread),
 * and counts the calls around each predict. Also: the results equal the C++ library's with and
 * without a workspace, and a predict without one does allocate (so the counter counts).
 * Built only without sanitizers (they own malloc). MAUNET_TRACE_ALLOC=1 prints a backtrace of
 * each counted allocation, to find one.
 * Usage: test_c_workspace MODEL INPUT EXPECTED N NY NX */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>

#include "test_support.h"

extern void* __libc_malloc(size_t);
extern void __libc_free(void*);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static int counting = 0;       /* set around the calls measured */
static int trace = 0;          /* MAUNET_TRACE_ALLOC */
static int tracing = 0;        /* trace, in calls with a workspace */
static long allocations = 0;   /* atomic: OpenMP's threads allocate too */
static __thread int in_trace = 0;

static void count_one(void) {
    if (!__atomic_load_n(&counting, __ATOMIC_RELAXED)) return;
    __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
    if (tracing && !in_trace) {
        in_trace = 1;
        void* frames[24];
        const int depth = backtrace(frames, 24);
        fprintf(stderr, "---- allocation\n");
        backtrace_symbols_fd(frames, depth, 2);
        in_trace = 0;
    }
}

void* malloc(size_t n) {
    count_one();
    return __libc_malloc(n);
}
void free(void* p) { __libc_free(p); }
void* calloc(size_t n, size_t size) {
    count_one();
    return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
    count_one();
    return __libc_realloc(p, n);
}
void* memalign(size_t alignment, size_t n) {
    count_one();
    return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
    count_one();
    return __libc_memalign(alignment, n);
}
int posix_memalign(void** p, size_t alignment, size_t n) {
    count_one();
    *p = __libc_memalign(alignment, n);
    return *p ? 0 : ENOMEM;
}

/* Heap allocations made by one predict call (ws NULL: without a workspace). */
static long allocations_of_predict(const maunet_model* model, const float* in, int n, int ny, int nx, float* out,
                                   const float* fill, maunet_workspace* ws) {
    __atomic_store_n(&allocations, 0, __ATOMIC_RELAXED);
    tracing = trace && ws;
    __atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
    const maunet_status s = maunet_model_predict_ws(model, in, n, ny, nx, out, fill, ws);
    __atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
    if (s != MAUNET_OK) {
        fprintf(stderr, "predict failed: %s\n", maunet_last_error());
        exit(1);
    }
    return __atomic_load_n(&allocations, __ATOMIC_RELAXED);
}

static int mismatches(const float* a, const float* b, size_t count) {
    int bad = 0;
    for (size_t i = 0; i < count; ++i) bad += !same_value(a[i], b[i]);
    return bad;
}

int main(int argc, char** argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: test_c_workspace MODEL INPUT EXPECTED N NY NX\n");
        return 2;
    }
    trace = getenv("MAUNET_TRACE_ALLOC") != NULL;
    const int n = atoi(argv[4]), ny = atoi(argv[5]), nx = atoi(argv[6]);
    maunet_model* model = NULL;
    REQUIRE_OK(maunet_model_load(argv[1], &model));
    int out_ny = 0, out_nx = 0;
    REQUIRE_OK(maunet_model_output_size(model, ny, nx, &out_ny, &out_nx));
    const size_t count = (size_t)n * out_ny * out_nx;
    float* input = read_floats(argv[2], (size_t)n * ny * nx);  /* has a block of missing (NaN) cells */
    float* expected = read_floats(argv[3], count);
    float* out = (float*)malloc(count * sizeof(float));

    /* Without a workspace a predict allocates: the counter sees the library's allocations. */
    const long without = allocations_of_predict(model, input, n, ny, nx, out, NULL, NULL);
    CHECK(without > 0);
    CHECK(mismatches(out, expected, count) == 0);

    /* With a workspace made for this size: none, from the first call on, on every call. */
    maunet_workspace* ws = NULL;
    REQUIRE_OK(maunet_workspace_create(model, n, ny, nx, &ws));
    size_t bytes = 0;
    REQUIRE_OK(maunet_workspace_bytes(ws, &bytes));
    CHECK(bytes > 0);
    long with = 0;
    for (int call = 0; call < 5; ++call) {
        for (size_t i = 0; i < count; ++i) out[i] = -1.0f;
        with += allocations_of_predict(model, input, n, ny, nx, out, NULL, ws);
        CHECK(mismatches(out, expected, count) == 0);
    }
    CHECK(with == 0);
    size_t bytes_after = 0;
    REQUIRE_OK(maunet_workspace_bytes(ws, &bytes_after));
    CHECK(bytes_after == bytes); /* nothing grew */

    /* A fill value takes the same path. */
    const float fill = -9999.0f;
    CHECK(allocations_of_predict(model, input, n, ny, nx, out, &fill, ws) == 0);

    /* Another size: the workspace grows on the first call, then allocates nothing again. */
    const int n1 = 1;
    (void)allocations_of_predict(model, input, n1, ny, nx, out, NULL, ws);
    CHECK(allocations_of_predict(model, input, n1, ny, nx, out, NULL, ws) == 0);
    CHECK(mismatches(out, expected, (size_t)n1 * out_ny * out_nx) == 0);
    /* ... and the first size still allocates nothing. */
    CHECK(allocations_of_predict(model, input, n, ny, nx, out, NULL, ws) == 0);

    /* Errors: NULL arguments and sizes are refused with the op's name. */
    maunet_workspace* none = (maunet_workspace*)&fill; /* must be overwritten with NULL */
    CHECK(maunet_workspace_create(model, 0, ny, nx, &none) == MAUNET_ERROR_ARGUMENT);
    CHECK(none == NULL);
    CHECK(strstr(maunet_last_error(), "maunet_workspace_create: expected n, ny, nx >= 1") != NULL);
    CHECK(maunet_workspace_create(NULL, n, ny, nx, &none) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "maunet_workspace_create: the handle is NULL") != NULL);
    CHECK(maunet_workspace_create(model, n, ny, nx, NULL) == MAUNET_ERROR_ARGUMENT);
    CHECK(maunet_workspace_bytes(NULL, &bytes) == MAUNET_ERROR_ARGUMENT);
    CHECK(maunet_model_predict_ws(model, input, n, 0, nx, out, NULL, ws) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "maunet_model_predict_ws: expected n, ny, nx >= 1") != NULL);
    /* A failed call leaves the workspace usable. */
    CHECK(allocations_of_predict(model, input, n, ny, nx, out, NULL, ws) == 0);

    maunet_workspace_free(ws);
    maunet_workspace_free(NULL);
    maunet_model_free(model);
    free(out);
    free(input);
    free(expected);
    if (!failures)
        printf("test_c_workspace: predict allocates %ld times without a workspace, 0 with one (%zu bytes)\n", without,
               bytes);
    return failures ? 1 : 0;
}
