/* Concurrent predict calls on ONE model handle from several threads must give the C++
 * library's result in every thread, without and with a workspace of each thread's own; run
 * under ThreadSanitizer to catch data races.
 * Usage: test_c_concurrent MODEL INPUT EXPECTED N NY NX THREADS */
#include <pthread.h>

#include "test_support.h"

enum { CALLS_PER_THREAD = 3 };

struct job {
    const maunet_model* model;
    const float* input;
    const float* expected;
    int n, ny, nx, out_ny, out_nx;
    int mismatches;
    maunet_status status;
};

static void* predict_loop(void* arg) {
    struct job* j = (struct job*)arg;
    const size_t count = (size_t)j->n * j->out_ny * j->out_nx;
    float* out = (float*)malloc(count * sizeof(float));
    for (int c = 0; c < CALLS_PER_THREAD && out; ++c) {
        j->status = maunet_model_predict(j->model, j->input, j->n, j->ny, j->nx, out, NULL);
        if (j->status != MAUNET_OK) break;
        for (size_t i = 0; i < count; ++i) j->mismatches += !same_value(out[i], j->expected[i]);
    }
    /* One workspace per thread. */
    maunet_workspace* ws = NULL;
    if (j->status == MAUNET_OK) j->status = maunet_workspace_create(j->model, j->n, j->ny, j->nx, &ws);
    for (int c = 0; c < CALLS_PER_THREAD && out && j->status == MAUNET_OK; ++c) {
        j->status = maunet_model_predict_ws(j->model, j->input, j->n, j->ny, j->nx, out, NULL, ws);
        if (j->status != MAUNET_OK) break;
        for (size_t i = 0; i < count; ++i) j->mismatches += !same_value(out[i], j->expected[i]);
    }
    maunet_workspace_free(ws);
    /* An error on this thread leaves the other threads' last error alone. */
    if (maunet_model_predict(j->model, j->input, 0, j->ny, j->nx, out, NULL) != MAUNET_ERROR_ARGUMENT ||
        strstr(maunet_last_error(), "expected n, ny, nx >= 1") == NULL)
        ++j->mismatches;
    free(out);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: test_c_concurrent MODEL INPUT EXPECTED N NY NX THREADS\n");
        return 2;
    }
    const int n = atoi(argv[4]), ny = atoi(argv[5]), nx = atoi(argv[6]), threads = atoi(argv[7]);
    maunet_model* model = NULL;
    REQUIRE_OK(maunet_model_load(argv[1], &model));
    int out_ny = 0, out_nx = 0;
    REQUIRE_OK(maunet_model_output_size(model, ny, nx, &out_ny, &out_nx));
    float* input = read_floats(argv[2], (size_t)n * ny * nx);
    float* expected = read_floats(argv[3], (size_t)n * out_ny * out_nx);

    pthread_t ids[16];
    struct job jobs[16];
    CHECK(threads >= 1 && threads <= 16);
    for (int t = 0; t < threads; ++t) {
        struct job j = {model, input, expected, n, ny, nx, out_ny, out_nx, 0, MAUNET_OK};
        jobs[t] = j;
        CHECK(pthread_create(&ids[t], NULL, predict_loop, &jobs[t]) == 0);
    }
    for (int t = 0; t < threads; ++t) {
        pthread_join(ids[t], NULL);
        CHECK(jobs[t].status == MAUNET_OK);
        CHECK(jobs[t].mismatches == 0);
    }
    CHECK(strcmp(maunet_last_error(), "") == 0); /* the main thread had no error */
    maunet_model_free(model);
    free(input);
    free(expected);
    if (!failures)
        printf("test_c_concurrent: %d threads x %d predicts without and %d with a workspace agree with the C++ result\n",
               threads, CALLS_PER_THREAD, CALLS_PER_THREAD);
    return failures ? 1 : 0;
}
