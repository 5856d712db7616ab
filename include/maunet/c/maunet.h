/* maunet/c/maunet.h: the C API of maunet (C99), for C tools, Fortran (the module `maunet`
 * binds it) and any language with a C foreign-function interface.
 *
 * Link maunet::c (shared) or maunet::c_static from CMake, or -lmaunet_c. See docs/embedding.md.
 *
 * Rules:
 *  - Every function that can fail returns a maunet_status; MAUNET_OK is 0. On failure,
 *    maunet_last_error() gives the message (per thread; valid until the next failing call on
 *    the same thread). No C++ exception crosses this interface.
 *  - Objects are opaque handles made by a *_load / *_fit / *_create function and released by
 *    the matching *_free (which accepts NULL). Handles are never NULL after success.
 *  - Arrays are the caller's: float fields [n, ny, nx] in row-major (C) order, x fastest. They
 *    are read or written during the call only; maunet keeps no pointer to them.
 *  - Missing values are NaN; with a non-NULL `fill_value`, input values equal to *fill_value
 *    are missing too, and missing outputs are written as *fill_value instead of NaN.
 *  - Threads: calls on one model, fit or regridder from several threads at once are safe (they
 *    only read the handle); a workspace serves one thread at a time. maunet_set_num_threads()
 *    sets the threads maunet uses inside a call.
 */
#ifndef MAUNET_C_MAUNET_H
#define MAUNET_C_MAUNET_H

#include <stddef.h>

#if defined(_WIN32) && defined(MAUNET_C_BUILDING)
#define MAUNET_C_API __declspec(dllexport)
#elif defined(__GNUC__)
#define MAUNET_C_API __attribute__((visibility("default")))
#else
#define MAUNET_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status, version, threads */

typedef enum maunet_status {
    MAUNET_OK = 0,
    MAUNET_ERROR_ARGUMENT = 1,  /* an argument is invalid: NULL pointer, value out of range */
    MAUNET_ERROR_SHAPE = 2,     /* array sizes do not fit each other or the model */
    MAUNET_ERROR_FORMAT = 3,    /* a file is not a valid maunet file (truncated, corrupted, ...) */
    MAUNET_ERROR_IO = 4,        /* a file cannot be opened, read or written */
    MAUNET_ERROR_NUMERICAL = 5, /* a computation produced non-finite values */
    MAUNET_ERROR_MEMORY = 6,    /* out of memory */
    MAUNET_ERROR_INTERNAL = 7   /* anything else (a bug: please report it) */
} maunet_status;

/* The message of the last failed call on this thread ("" if none). Never NULL. */
MAUNET_C_API const char* maunet_last_error(void);
/* "MAUNET_OK", "MAUNET_ERROR_SHAPE", ... Never NULL. */
MAUNET_C_API const char* maunet_status_name(maunet_status status);

/* The library's version, "major.minor.patch"; the numbers through the optional pointers. */
MAUNET_C_API const char* maunet_version(int* major, int* minor, int* patch);

/* Threads used inside each call (OpenMP and Eigen): n >= 1. The setting is process-wide. */
MAUNET_C_API maunet_status maunet_set_num_threads(int n);
MAUNET_C_API int maunet_get_num_threads(void);

/* ------------------------------------------------------------------ models */

typedef struct maunet_model maunet_model;

typedef enum maunet_task { MAUNET_TASK_DOWNSCALING = 0, MAUNET_TASK_BIAS_CORRECTION = 1 } maunet_task;

/* Loads a model file written by `maunet train` / `maunet distill` (checked: CRC, self-test). */
MAUNET_C_API maunet_status maunet_model_load(const char* path, maunet_model** model);
MAUNET_C_API void maunet_model_free(maunet_model* model);

MAUNET_C_API maunet_status maunet_model_task(const maunet_model* model, maunet_task* task);
/* The downscaling factor (1 for bias correction). */
MAUNET_C_API maunet_status maunet_model_factor(const maunet_model* model, int* factor);
/* The network pads its grid internally to a multiple of this (2^levels); any size works. */
MAUNET_C_API maunet_status maunet_model_grid_multiple(const maunet_model* model, int* multiple);
MAUNET_C_API maunet_status maunet_model_channels(const maunet_model* model, int* in_channels, int* out_channels);
/* The physical units of the fields predict takes and gives, as recorded in the model file ("mm
 * day-1" for models of `maunet train`; "" when the file records none, as files written before
 * units were recorded). Convert inputs to them first. The string lives as long as the model. */
MAUNET_C_API maunet_status maunet_model_units(const maunet_model* model, const char** units);
/* The output grid for an input grid: [ny * factor, nx * factor] for downscaling. */
MAUNET_C_API maunet_status maunet_model_output_size(const maunet_model* model, int ny, int nx, int* out_ny,
                                                    int* out_nx);

/* Applies the model to n fields input [n, ny, nx] (physical units; for downscaling the coarse
 * fields, regridded bicubically to the fine grid first, as `maunet predict` does) and writes
 * output [n, out_ny, out_nx] (see maunet_model_output_size). Fields are independent. Only
 * single-channel (precipitation-only) models can be applied. */
MAUNET_C_API maunet_status maunet_model_predict(const maunet_model* model, const float* input, int n, int ny, int nx,
                                                float* output, const float* fill_value);

/* ------------------------------------------------------------------ workspaces */

/* Memory that a predict call draws every array it needs from, instead of the heap: with one,
 * a time loop allocates nothing. maunet_workspace_create() sizes it for predicting n fields of
 * ny x nx with `model` (it runs one prediction on zeros to find what that takes), so every
 * maunet_model_predict_ws() of that size with that model makes no heap allocation, the first
 * one included. Another size or model works too: the workspace then grows, once per new size.
 * It keeps what it took until maunet_workspace_free(), which accepts NULL.
 * One workspace serves one thread at a time: threads predicting at once each need their own
 * (a call that finds the workspace busy in another thread fails with MAUNET_ERROR_ARGUMENT). */
typedef struct maunet_workspace maunet_workspace;

MAUNET_C_API maunet_status maunet_workspace_create(const maunet_model* model, int n, int ny, int nx,
                                                   maunet_workspace** workspace);
MAUNET_C_API void maunet_workspace_free(maunet_workspace* workspace);
/* The bytes the workspace holds. */
MAUNET_C_API maunet_status maunet_workspace_bytes(const maunet_workspace* workspace, size_t* bytes);
/* maunet_model_predict() drawing its memory from `workspace` (NULL: from the heap, exactly
 * maunet_model_predict()). The results are the same with or without a workspace. */
MAUNET_C_API maunet_status maunet_model_predict_ws(const maunet_model* model, const float* input, int n, int ny,
                                                   int nx, float* output, const float* fill_value,
                                                   maunet_workspace* workspace);

/* ------------------------------------------------------------------ classical bias correction */

typedef struct maunet_bc maunet_bc;

typedef enum maunet_bc_method { MAUNET_BC_LINEAR = 0, MAUNET_BC_QM = 1, MAUNET_BC_QDM = 2 } maunet_bc_method;
typedef enum maunet_bc_kind { MAUNET_BC_MULTIPLICATIVE = 0, MAUNET_BC_ADDITIVE = 1 } maunet_bc_kind;

/* The options of `maunet bc`; fill with maunet_bc_options_default() first. */
typedef struct maunet_bc_options {
    maunet_bc_method method;       /* default MAUNET_BC_QDM */
    maunet_bc_kind kind;           /* default MAUNET_BC_MULTIPLICATIVE (precipitation) */
    int window;                    /* half width of the day-of-year windows in days; 0 (default): whole series */
    int days_in_year;              /* 365 (default), 366 or 360; used with window > 0 */
    double threshold;              /* wet-day threshold, default 0.1 */
    double max_ratio;              /* cap on multiplicative factors, default 10 */
    int quantiles;                 /* quantiles of the tables (qm, qdm), default 100 */
    unsigned long long seed;       /* seed of the wet-day frequency adaptation, default 42 */
    int frequency_adaptation;      /* 1 (default): adapt the wet-day frequency; 0: keep dry days dry */
} maunet_bc_options;

MAUNET_C_API void maunet_bc_options_default(maunet_bc_options* options);

/* Fits on observations obs [n_obs, ny, nx] and a simulation of the same period sim [n_sim, ny, nx].
 * obs_doy / sim_doy: the 1-based day of year of each time step, needed when options->window > 0
 * (NULL otherwise). */
MAUNET_C_API maunet_status maunet_bc_fit(const maunet_bc_options* options, const float* obs, int n_obs,
                                         const int* obs_doy, const float* sim, int n_sim, const int* sim_doy, int ny,
                                         int nx, const float* fill_value, maunet_bc** bc);
MAUNET_C_API void maunet_bc_free(maunet_bc* bc);
/* Saves the fit (the format of docs/model-format.md, written atomically) and loads it back. */
MAUNET_C_API maunet_status maunet_bc_save(const maunet_bc* bc, const char* path);
MAUNET_C_API maunet_status maunet_bc_load(const char* path, maunet_bc** bc);
/* The fit's method, kind, window, grid and the other options (days_in_year as fitted). */
MAUNET_C_API maunet_status maunet_bc_info(const maunet_bc* bc, maunet_bc_options* options, int* ny, int* nx);
/* Corrects x [n, ny, nx] into out [n, ny, nx] (out may equal x). doy: day of year of each
 * step, needed for a fit with windows (NULL otherwise); QDM takes the future distribution from x. */
MAUNET_C_API maunet_status maunet_bc_apply(const maunet_bc* bc, const float* x, int n, const int* doy, int ny, int nx,
                                           float* out, const float* fill_value);

/* ------------------------------------------------------------------ regridding by a factor */

typedef struct maunet_regridder maunet_regridder;

typedef enum maunet_regrid_method {
    MAUNET_REGRID_NEAREST = 0,    /* refine: [ny * f, nx * f] */
    MAUNET_REGRID_BILINEAR = 1,   /* refine */
    MAUNET_REGRID_BICUBIC = 2,    /* refine (PyTorch's kernel, a = -0.75), negative overshoot set to 0 */
    MAUNET_REGRID_BLOCK_MEAN = 3  /* coarsen: [ny / f, nx / f], NaN-aware mean of f x f blocks */
} maunet_regrid_method;

MAUNET_C_API maunet_status maunet_regridder_create(maunet_regrid_method method, int factor,
                                                   maunet_regridder** regridder);
MAUNET_C_API void maunet_regridder_free(maunet_regridder* regridder);
MAUNET_C_API maunet_status maunet_regridder_output_size(const maunet_regridder* regridder, int ny, int nx,
                                                        int* out_ny, int* out_nx);
MAUNET_C_API maunet_status maunet_regrid(const maunet_regridder* regridder, const float* input, int n, int ny, int nx,
                                         float* output, const float* fill_value);

#ifdef __cplusplus
}
#endif

#endif /* MAUNET_C_MAUNET_H */
