! Loads a maunet model and downscales coarse precipitation fields, from Fortran.
!
!   downscale MODEL INPUT NX NY NT [EXPECTED]
!
! INPUT: raw float32 fields in Fortran order (x, y, t), coarse for a downscaling model. With
! EXPECTED (the C++ library's output for the same input), the program checks that it gets
! the same numbers and exits with 1 if not.
program downscale
    use, intrinsic :: iso_c_binding, only: c_float
    use, intrinsic :: ieee_arithmetic, only: ieee_is_nan
    use maunet
    implicit none
    type(maunet_model) :: model
    type(maunet_workspace) :: workspace
    real(c_float), allocatable :: coarse(:, :, :), fine(:, :, :), fine2(:, :, :), expected(:, :, :)
    character(len=512) :: model_path, input_path, expected_path, arg
    character(len=512) :: errmsg
    integer :: nx, ny, nt, fine_xy(2), stat, unit, bad

    if (command_argument_count() < 5) error stop "usage: downscale MODEL INPUT NX NY NT [EXPECTED]"
    call get_command_argument(1, model_path)
    call get_command_argument(2, input_path)
    call get_command_argument(3, arg)
    read (arg, *) nx
    call get_command_argument(4, arg)
    read (arg, *) ny
    call get_command_argument(5, arg)
    read (arg, *) nt

    ! Errors come back through stat and errmsg (without stat, a failure stops the program).
    call model%load("no-such-model.ckpt", stat=stat, errmsg=errmsg)
    if (stat /= MAUNET_ERROR_IO .or. index(errmsg, "no-such-model.ckpt") == 0) error stop "expected an I/O error"

    call model%load(trim(model_path))
    fine_xy = model%output_shape(nx, ny)
    print '(a, a, a, i0, a, i0, a, i0, a, i0, a, i0, a, a)', "maunet ", maunet_version(), ": factor ", model%factor(), &
        ", ", nx, " x ", ny, " -> ", fine_xy(1), " x ", fine_xy(2), ", in ", model%units()

    allocate(coarse(nx, ny, nt), fine(fine_xy(1), fine_xy(2), nt))
    open (newunit=unit, file=trim(input_path), access="stream", form="unformatted", status="old")
    read (unit) coarse
    close (unit)

    call model%predict(coarse, fine)  ! no copy: (x, y, t) is the C API's row-major [t, y, x]

    ! In a time loop, a workspace made once makes every predict of that size allocate nothing.
    allocate(fine2(fine_xy(1), fine_xy(2), nt))
    call workspace%create(model, nx, ny, nt)
    call model%predict(coarse, fine2, workspace=workspace)
    if (any(ieee_is_nan(fine2) .neqv. ieee_is_nan(fine)) .or. &
        any(.not. ieee_is_nan(fine) .and. fine2 /= fine)) error stop "predict with a workspace differs"
    print '(a, i0, a)', "with a workspace of ", workspace%bytes(), " bytes: the same numbers"
    print '(a, i0, a, f8.3, a, f8.3)', "downscaled ", nt, " fields; mean ", &
        sum(fine, mask=.not. ieee_is_nan(fine)) / count(.not. ieee_is_nan(fine)), ", max ", &
        maxval(fine, mask=.not. ieee_is_nan(fine))

    if (command_argument_count() >= 6) then
        call get_command_argument(6, expected_path)
        allocate(expected(fine_xy(1), fine_xy(2), nt))
        open (newunit=unit, file=trim(expected_path), access="stream", form="unformatted", status="old")
        read (unit) expected
        close (unit)
        bad = count(ieee_is_nan(fine) .neqv. ieee_is_nan(expected))
        bad = bad + count(.not. ieee_is_nan(expected) .and. abs(fine - expected) > 1e-5 * (1 + abs(expected)))
        if (bad /= 0) then
            print '(i0, a)', bad, " values differ from the C++ library's"
            error stop 1
        end if
        print '(a)', "the same numbers as the C++ library"
        deallocate(expected)
    end if
    deallocate(coarse, fine, fine2)  ! a main program's variables are never deallocated or finalised by themselves
end program downscale
