/* The C API from C99: models, bias correction, regridding, threads, errors.
 * Usage: test_c_api MODEL INPUT EXPECTED N NY NX SCRATCH_DIR
 * (MODEL, INPUT and EXPECTED are written by make_test_model: the expected output is the C++
 * library's own, so the C path must reproduce it.) */
#include "test_support.h"

static const char* scratch;

static void path_in_scratch(char* buf, size_t size, const char* name) { snprintf(buf, size, "%s/%s", scratch, name); }

static void test_version_and_threads(void) {
    int major = -1, minor = -1, patch = -1;
    const char* v = maunet_version(&major, &minor, &patch);
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", major, minor, patch);
    CHECK(major >= 0 && strcmp(v, expected) == 0);
    CHECK(maunet_version(NULL, NULL, NULL) == v);

    const int before = maunet_get_num_threads();
    CHECK(before >= 1);
    REQUIRE_OK(maunet_set_num_threads(1));
    CHECK(maunet_get_num_threads() == 1);
    CHECK(maunet_set_num_threads(0) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "expected a thread count >= 1, got 0") != NULL);
    REQUIRE_OK(maunet_set_num_threads(before));
    CHECK(strcmp(maunet_status_name(MAUNET_ERROR_FORMAT), "MAUNET_ERROR_FORMAT") == 0);
    CHECK(strcmp(maunet_status_name((maunet_status)42), "MAUNET_ERROR_UNKNOWN_STATUS") == 0);
}

static void test_model(const char* model_path, const char* input_path, const char* expected_path, int n, int ny,
                       int nx) {
    maunet_model* model = NULL;
    CHECK(maunet_model_load("no/such/model.ckpt", &model) == MAUNET_ERROR_IO);
    CHECK(model == NULL);
    CHECK(strstr(maunet_last_error(), "no/such/model.ckpt") != NULL);
    CHECK(maunet_model_load(NULL, &model) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "maunet_model_load: path is NULL") != NULL);
    /* A file that is not a model (the input data) is a format error. */
    CHECK(maunet_model_load(input_path, &model) == MAUNET_ERROR_FORMAT);
    CHECK(strstr(maunet_last_error(), "MAUNETCK") != NULL);

    REQUIRE_OK(maunet_model_load(model_path, &model));
    maunet_task task;
    int factor = 0, multiple = 0, cin = 0, cout = 0, out_ny = 0, out_nx = 0;
    const char* units = NULL;
    REQUIRE_OK(maunet_model_task(model, &task));
    REQUIRE_OK(maunet_model_factor(model, &factor));
    REQUIRE_OK(maunet_model_grid_multiple(model, &multiple));
    REQUIRE_OK(maunet_model_channels(model, &cin, &cout));
    REQUIRE_OK(maunet_model_units(model, &units));
    REQUIRE_OK(maunet_model_output_size(model, ny, nx, &out_ny, &out_nx));
    CHECK(task == (factor > 1 ? MAUNET_TASK_DOWNSCALING : MAUNET_TASK_BIAS_CORRECTION));
    CHECK(multiple == 4); /* 2 levels */
    CHECK(cin == 1 && cout == 1);
    CHECK(units != NULL && strcmp(units, "mm day-1") == 0); /* recorded by make_test_model */
    CHECK(out_ny == ny * factor && out_nx == nx * factor);

    const size_t n_in = (size_t)n * ny * nx, n_out = (size_t)n * out_ny * out_nx;
    float* input = read_floats(input_path, n_in);
    float* expected = read_floats(expected_path, n_out);
    float* output = (float*)malloc(n_out * sizeof(float));
    REQUIRE_OK(maunet_model_predict(model, input, n, ny, nx, output, NULL));
    int mismatches = 0, missing = 0;
    for (size_t i = 0; i < n_out; ++i) {
        mismatches += !same_value(output[i], expected[i]);
        missing += isnan(output[i]);
    }
    CHECK(mismatches == 0);
    CHECK(missing > 0); /* the block of missing input cells reaches the output */

    /* The same field with -999 as the missing value: same numbers, -999 where NaN was. */
    const float fill = -999.0f;
    for (size_t i = 0; i < n_in; ++i)
        if (isnan(input[i])) input[i] = fill;
    REQUIRE_OK(maunet_model_predict(model, input, n, ny, nx, output, &fill));
    mismatches = 0;
    for (size_t i = 0; i < n_out; ++i) mismatches += isnan(expected[i]) ? output[i] != fill : !same_value(output[i], expected[i]);
    CHECK(mismatches == 0);

    /* One field at a time gives the same as the whole stack (fields are independent). */
    mismatches = 0;
    for (int t = 0; t < n; ++t) {
        REQUIRE_OK(maunet_model_predict(model, input + (size_t)t * ny * nx, 1, ny, nx, output, &fill));
        for (size_t i = 0; i < (size_t)out_ny * out_nx; ++i) {
            const float e = expected[(size_t)t * out_ny * out_nx + i];
            mismatches += isnan(e) ? output[i] != fill : !same_value(output[i], e);
        }
    }
    CHECK(mismatches == 0);

    CHECK(maunet_model_predict(model, input, 0, ny, nx, output, NULL) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "maunet_model_predict: expected n, ny, nx >= 1, got 0") != NULL);
    CHECK(maunet_model_predict(model, NULL, n, ny, nx, output, NULL) == MAUNET_ERROR_ARGUMENT);
    CHECK(maunet_model_predict(NULL, input, n, ny, nx, output, NULL) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "the handle is NULL") != NULL);
    CHECK(maunet_model_task(model, NULL) == MAUNET_ERROR_ARGUMENT);
    maunet_model_free(model);
    maunet_model_free(NULL);
    free(input);
    free(expected);
    free(output);
}

/* Deterministic pseudo-random numbers in [0, 1). */
static double uniform(unsigned long long* state) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / 9007199254740992.0;
}

static void test_bias_correction(void) {
    enum { T = 730, NY = 3, NX = 4 };
    static float obs[T * NY * NX], sim[T * NY * NX], out[T * NY * NX], out2[T * NY * NX];
    static int doy[T];
    unsigned long long state = 1;
    for (int i = 0; i < T * NY * NX; ++i) {
        obs[i] = uniform(&state) < 0.5 ? 0.0f : (float)(10.0 * uniform(&state));
        sim[i] = uniform(&state) < 0.3 ? 0.0f : (float)(6.0 * uniform(&state));
    }
    for (int t = 0; t < T; ++t) doy[t] = t % 365 + 1;
    const float fill = -1.0f;
    obs[7] = fill;

    maunet_bc_options o;
    maunet_bc_options_default(&o);
    CHECK(o.method == MAUNET_BC_QDM && o.kind == MAUNET_BC_MULTIPLICATIVE && o.quantiles == 100 && o.seed == 42 &&
          o.window == 0 && o.frequency_adaptation == 1 && o.threshold == 0.1 && o.max_ratio == 10);

    /* Additive linear scaling of a series shifted by 2 restores the observations' mean offset. */
    maunet_bc* bc = NULL;
    static float shifted[T * NY * NX];
    for (int i = 0; i < T * NY * NX; ++i) shifted[i] = obs[i] == fill ? fill : obs[i] + 2.0f;
    o.method = MAUNET_BC_LINEAR;
    o.kind = MAUNET_BC_ADDITIVE;
    REQUIRE_OK(maunet_bc_fit(&o, obs, T, NULL, shifted, T, NULL, NY, NX, &fill, &bc));
    REQUIRE_OK(maunet_bc_apply(bc, shifted, T, NULL, NY, NX, out, &fill));
    int bad = 0;
    for (int i = 0; i < T * NY * NX; ++i) bad += obs[i] == fill ? out[i] != fill : fabsf(out[i] - obs[i]) > 1e-4f;
    CHECK(bad == 0);
    maunet_bc_free(bc);

    /* QDM with +-15-day windows: fit, save, load, apply twice -> identical; info round-trips. */
    char path[512];
    path_in_scratch(path, sizeof path, "qdm.bc");
    maunet_bc_options_default(&o);
    o.window = 15;
    o.quantiles = 20;
    o.seed = 123456789012345ULL;
    CHECK(maunet_bc_fit(&o, obs, T, NULL, sim, T, NULL, NY, NX, &fill, &bc) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "obs_doy (needed with window > 0) is NULL") != NULL);
    REQUIRE_OK(maunet_bc_fit(&o, obs, T, doy, sim, T, doy, NY, NX, &fill, &bc));
    REQUIRE_OK(maunet_bc_save(bc, path));
    maunet_bc* loaded = NULL;
    REQUIRE_OK(maunet_bc_load(path, &loaded));
    maunet_bc_options info;
    int ny = 0, nx = 0;
    REQUIRE_OK(maunet_bc_info(loaded, &info, &ny, &nx));
    CHECK(info.method == MAUNET_BC_QDM && info.window == 15 && info.quantiles == 20 && info.seed == o.seed &&
          info.days_in_year == 365 && ny == NY && nx == NX);
    REQUIRE_OK(maunet_bc_apply(bc, sim, T, doy, NY, NX, out, &fill));
    REQUIRE_OK(maunet_bc_apply(loaded, sim, T, doy, NY, NX, out2, &fill));
    CHECK(memcmp(out, out2, sizeof out) == 0);
    double mean_out = 0, mean_obs = 0, mean_sim = 0;
    for (int i = 0; i < T * NY * NX; ++i) {
        mean_out += out[i], mean_sim += sim[i];
        mean_obs += obs[i] == fill ? 0 : obs[i];
    }
    CHECK(fabs(mean_out - mean_obs) < 0.1 * fabs(mean_sim - mean_obs)); /* the bias is mostly gone */
    CHECK(maunet_bc_apply(loaded, sim, T, NULL, NY, NX, out2, NULL) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "day-of-year windows") != NULL);
    CHECK(maunet_bc_apply(loaded, sim, T, doy, NY, NX - 1, out2, NULL) == MAUNET_ERROR_SHAPE); /* another grid */
    maunet_bc_free(bc);
    maunet_bc_free(loaded);

    /* A truncated fit file is a format error naming the file. */
    {
        static char bytes[1 << 20];
        FILE* f = fopen(path, "rb");
        const size_t size = f ? fread(bytes, 1, sizeof bytes, f) : 0;
        if (f) fclose(f);
        CHECK(size > 100 && size < sizeof bytes);
        f = fopen(path, "wb");
        CHECK(f != NULL && fwrite(bytes, 1, size - 10, f) == size - 10);
        if (f) fclose(f);
    }
    CHECK(maunet_bc_load(path, &loaded) == MAUNET_ERROR_FORMAT);
    CHECK(loaded == NULL);
    CHECK(strstr(maunet_last_error(), "qdm.bc") != NULL);
    o.method = (maunet_bc_method)7;
    CHECK(maunet_bc_fit(&o, obs, T, doy, sim, T, doy, NY, NX, &fill, &bc) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "method 7 is not") != NULL);
}

static void test_regrid(void) {
    float field[2 * 4 * 6], coarse[2 * 2 * 3], fine[2 * 8 * 12];
    for (int i = 0; i < 2 * 4 * 6; ++i) field[i] = (float)(i / 24 + 1); /* field t is constant t + 1 */
    const float fill = -9.0f;
    field[0] = fill;
    maunet_regridder* r = NULL;
    int ony = 0, onx = 0;
    REQUIRE_OK(maunet_regridder_create(MAUNET_REGRID_BLOCK_MEAN, 2, &r));
    REQUIRE_OK(maunet_regridder_output_size(r, 4, 6, &ony, &onx));
    CHECK(ony == 2 && onx == 3);
    REQUIRE_OK(maunet_regrid(r, field, 2, 4, 6, coarse, &fill));
    for (int i = 0; i < 12; ++i) CHECK(coarse[i] == (float)(i / 6 + 1)); /* 3 of 4 valid in the first block */
    CHECK(maunet_regrid(r, field, 2, 5, 6, coarse, &fill) == MAUNET_ERROR_SHAPE);
    maunet_regridder_free(r);
    REQUIRE_OK(maunet_regridder_create(MAUNET_REGRID_BILINEAR, 2, &r));
    REQUIRE_OK(maunet_regrid(r, field, 2, 4, 6, fine, NULL));
    CHECK(fine[0] < 0.0f); /* the fill value is an ordinary number without fill_value ... */
    REQUIRE_OK(maunet_regrid(r, field, 2, 4, 6, fine, &fill));
    /* ... and skipped with it: the corner's only weighted tap is the missing cell, so it is missing */
    CHECK(fine[0] == fill);
    for (int i = 1; i < 2 * 8 * 12; ++i) CHECK(fabsf(fine[i] - (float)(i / 96 + 1)) < 1e-6f);
    maunet_regridder_free(r);
    CHECK(maunet_regridder_create(MAUNET_REGRID_BICUBIC, 0, &r) == MAUNET_ERROR_ARGUMENT);
    CHECK(maunet_regridder_create((maunet_regrid_method)9, 2, &r) == MAUNET_ERROR_ARGUMENT);
    CHECK(strstr(maunet_last_error(), "method 9 is not") != NULL);
    CHECK(r == NULL);
}

int main(int argc, char** argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: test_c_api MODEL INPUT EXPECTED N NY NX SCRATCH_DIR\n");
        return 2;
    }
    scratch = argv[7];
    test_version_and_threads();
    test_model(argv[1], argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    test_bias_correction();
    test_regrid();
    if (failures) fprintf(stderr, "test_c_api: %d checks failed\n", failures);
    else printf("test_c_api: all checks passed\n");
    return failures ? 1 : 0;
}
