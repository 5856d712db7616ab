! The Fortran module's bias correction, regridding, errors and finalisers.
! Usage: test_fortran SCRATCH_DIR
program test_fortran
    use, intrinsic :: iso_c_binding, only: c_float, c_int
    use maunet
    implicit none
    integer, parameter :: nx = 4, ny = 3, nt = 730
    real(c_float) :: obs(nx, ny, nt), sim(nx, ny, nt), out(nx, ny, nt), out2(nx, ny, nt)
    real(c_float) :: field(6, 4, 2), coarse(3, 2, 2)
    integer(c_int) :: doy(nt)
    character(len=512) :: scratch, errmsg
    type(maunet_bc_options) :: options, fitted
    integer :: failures, stat, t, fx, fy, shape_xy(2)
    real :: r(nx, ny, nt)

    failures = 0
    call get_command_argument(1, scratch)
    call random_seed(put=[(17 + t, t = 1, 64)])
    call random_number(r)
    obs = merge(0.0, 10.0 * r, r < 0.5)
    call random_number(r)
    sim = merge(0.0, 6.0 * r, r < 0.3)
    doy = [(mod(t - 1, 365) + 1, t = 1, nt)]

    call check(maunet_get_num_threads() >= 1, "thread count")
    call maunet_set_num_threads(0, stat=stat, errmsg=errmsg)
    call check(stat == MAUNET_ERROR_ARGUMENT .and. index(errmsg, "thread count >= 1") > 0, "bad thread count")

    block
        type(maunet_bias_correction) :: bc, loaded
        ! Additive linear scaling of obs + 2 gives back obs.
        options%method = MAUNET_BC_LINEAR
        options%kind = MAUNET_BC_ADDITIVE
        call bc%fit(obs, obs + 2, options)
        call bc%apply(obs + 2, out)
        call check(maxval(abs(out - obs)) < 1e-4, "linear scaling removes an offset")

        ! QDM with windows: the saved and loaded fit gives identical numbers.
        options = maunet_bc_options()
        options%window = 15
        options%quantiles = 20
        call bc%fit(obs, sim, options, stat=stat, errmsg=errmsg)
        call check(stat == MAUNET_ERROR_ARGUMENT .and. index(errmsg, "obs_doy") > 0, "windows need days of year")
        call bc%fit(obs, sim, options, obs_doy=doy, sim_doy=doy)
        call bc%save(trim(scratch) // "/fortran_qdm.bc")
        call loaded%load(trim(scratch) // "/fortran_qdm.bc")
        fitted = loaded%options(nx=fx, ny=fy)
        call check(fitted%method == MAUNET_BC_QDM .and. fitted%window == 15 .and. fitted%quantiles == 20 &
                   .and. fx == nx .and. fy == ny, "the loaded fit's options and grid")
        call bc%apply(sim, out, doy=doy)
        call loaded%apply(sim, out2, doy=doy)
        call check(all(out == out2), "a loaded fit applies like the fitted one")
        call check(abs(sum(out) - sum(obs)) < 0.1 * abs(sum(sim) - sum(obs)), "QDM removes most of the bias")
        call loaded%apply(sim, out(:, :, 1:10), doy=doy, stat=stat, errmsg=errmsg)
        call check(stat == MAUNET_ERROR_SHAPE .and. index(errmsg, "apply: the output has the wrong shape") > 0, &
                   "an output of the wrong shape")
        call loaded%load(trim(scratch) // "/no-such.bc", stat=stat, errmsg=errmsg)
        call check(stat == MAUNET_ERROR_IO, "a missing fit file is an I/O error")
    end block  ! bc and loaded are finalised here

    block
        type(maunet_regridder) :: regridder
        field = 1
        field(:, :, 2) = 2
        field(1, 1, 1) = -9
        call regridder%create(MAUNET_REGRID_BLOCK_MEAN, 2)
        shape_xy = regridder%output_shape(6, 4)
        call check(all(shape_xy == [3, 2]), "block mean output shape")
        call regridder%regrid(field, coarse, fill_value=-9.0_c_float)
        call check(all(coarse(:, :, 1) == 1) .and. all(coarse(:, :, 2) == 2), "block mean skips the fill value")
        call regridder%regrid(field(:, 1:3, :), coarse, stat=stat, errmsg=errmsg)
        call check(stat == MAUNET_ERROR_SHAPE .and. index(errmsg, "multiples of 2") > 0, "odd grid for block mean")
    end block

    block
        type(maunet_model) :: model
        type(maunet_workspace) :: workspace
        real(c_float) :: small(12, 8, 3), fine(48, 32, 3)
        ! The model of make_test_model (in the scratch folder) records its units.
        call model%load(trim(scratch) // "/model.ckpt")
        call check(model%units() == "mm day-1", "the model's units")
        call workspace%create(model, 12, 8, 3)
        call check(workspace%bytes() > 0, "a workspace holds memory")
        small = 1
        call model%predict(small, fine, workspace=workspace)
        call check(all(fine >= 0), "predict with a workspace")
        call model%predict(small, fine(:, :, 1:2), workspace=workspace, stat=stat, errmsg=errmsg)
        call check(stat == MAUNET_ERROR_SHAPE, "predict with a workspace: an output of the wrong shape")
    end block

    if (failures > 0) then
        print '(a, i0, a)', "test_fortran: ", failures, " checks failed"
        error stop 1
    end if
    print '(a)', "test_fortran: all checks passed"

contains

    subroutine check(ok, what)
        logical, intent(in) :: ok
        character(len=*), intent(in) :: what
        if (.not. ok) then
            print '(a, a)', "CHECK failed: ", what
            failures = failures + 1
        end if
    end subroutine

end program test_fortran
