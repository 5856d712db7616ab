/* Builds against the installed maunet C API, regrids a field and reports a clear error. */
#include <stdio.h>
#include <string.h>

#include <maunet/c/maunet.h>

int main(void) {
    float coarse[2 * 2] = {1, 2, 3, 4}, fine[4 * 4];
    maunet_regridder* r = NULL;
    if (maunet_regridder_create(MAUNET_REGRID_NEAREST, 2, &r) != MAUNET_OK ||
        maunet_regrid(r, coarse, 1, 2, 2, fine, NULL) != MAUNET_OK) {
        fprintf(stderr, "consumer_c: %s\n", maunet_last_error());
        return 1;
    }
    maunet_regridder_free(r);
    maunet_model* model = NULL;
    const maunet_status s = maunet_model_load("missing.ckpt", &model);
    printf("consumer_c: maunet %s, fine[15] = %g, loading a missing file: %s (%s)\n", maunet_version(NULL, NULL, NULL),
           fine[15], maunet_status_name(s), maunet_last_error());
    return fine[15] == 4.0f && s == MAUNET_ERROR_IO && strstr(maunet_last_error(), "missing.ckpt") ? 0 : 1;
}
