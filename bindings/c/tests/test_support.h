/* Helpers of the C API tests (C99): checks that count failures, raw float32 files. */
#ifndef MAUNET_C_TEST_SUPPORT_H
#define MAUNET_C_TEST_SUPPORT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maunet/c/maunet.h"

static int failures = 0;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                      \
        }                                                                    \
    } while (0)

/* A call that must succeed; on failure prints the status and message and stops the test. */
#define REQUIRE_OK(call)                                                                     \
    do {                                                                                     \
        maunet_status s_ = (call);                                                           \
        if (s_ != MAUNET_OK) {                                                               \
            fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #call,        \
                    maunet_status_name(s_), maunet_last_error());                            \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

/* Reads exactly count float32 values; exits on a short file. */
static float* read_floats(const char* path, size_t count) {
    float* v = (float*)malloc(count * sizeof(float));
    FILE* f = fopen(path, "rb");
    if (!v || !f || fread(v, sizeof(float), count, f) != count) {
        fprintf(stderr, "cannot read %zu floats from %s\n", count, path);
        exit(1);
    }
    fclose(f);
    return v;
}

/* Both NaN, or equal within a relative 1e-5. */
static int same_value(float a, float b) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabsf(a - b) <= 1e-5f * (1.0f + fabsf(b));
}

#endif
