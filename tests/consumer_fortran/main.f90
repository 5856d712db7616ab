! Builds against the installed maunet Fortran module, refines a field and reports a clear error.
program consumer_fortran
    use, intrinsic :: iso_c_binding, only: c_float
    use maunet
    implicit none
    type(maunet_regridder) :: regridder
    type(maunet_model) :: model
    real(c_float) :: coarse(2, 2, 1), fine(4, 4, 1)
    character(len=256) :: errmsg
    integer :: stat

    coarse(:, :, 1) = reshape([1, 2, 3, 4], [2, 2])
    call regridder%create(MAUNET_REGRID_NEAREST, 2)
    call regridder%regrid(coarse, fine)
    call model%load("missing.ckpt", stat=stat, errmsg=errmsg)
    print '(a, a, a, f4.1, a, i0, a, a)', "consumer_fortran: maunet ", maunet_version(), ", fine(4, 4, 1) = ", &
        fine(4, 4, 1), ", loading a missing file: stat ", stat, ", ", trim(errmsg)
    if (fine(4, 4, 1) /= 4 .or. stat /= MAUNET_ERROR_IO) error stop 1
end program consumer_fortran
