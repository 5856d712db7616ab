! Overhead of the Fortran module: maunet_model%predict, then the same with a workspace, against
! a direct call of the C API's maunet_model_predict on the same arrays, alternating call by call
! (the C API's own overhead against C++ is measured by bench_predict_c_vs_cpp). Prints the
! medians and the median and quartiles of the per-pair ratio (Fortran / C - 1) of each.
!   bench_predict_fortran MODEL INPUT NY NX PAIRS
program bench_predict_fortran
    use, intrinsic :: iso_c_binding
    use, intrinsic :: iso_fortran_env, only: int64
    use maunet
    implicit none
    interface
        function c_load(path, model) bind(c, name="maunet_model_load")
            import :: c_char, c_ptr, c_int
            character(kind=c_char), intent(in) :: path(*)
            type(c_ptr), intent(out) :: model
            integer(c_int) :: c_load
        end function
        function c_predict(model, input, n, ny, nx, output, fill) bind(c, name="maunet_model_predict")
            import :: c_ptr, c_int, c_float
            type(c_ptr), value :: model
            real(c_float), intent(in) :: input(*)
            integer(c_int), value :: n, ny, nx
            real(c_float), intent(out) :: output(*)
            type(c_ptr), value :: fill
            integer(c_int) :: c_predict
        end function
    end interface
    type(maunet_model) :: model
    type(maunet_workspace) :: workspace
    type(c_ptr) :: handle
    real(c_float), allocatable :: coarse(:, :, :), fine(:, :, :), fine_c(:, :, :)
    real(8), allocatable :: t_f(:), t_c(:), ratio(:)
    character(len=512) :: path, input, arg
    integer :: nx, ny, pairs, r, unit, fine_xy(2)
    integer(int64) :: t0, t1, t2, rate

    call get_command_argument(1, path)
    call get_command_argument(2, input)
    call get_command_argument(3, arg)
    read (arg, *) ny
    call get_command_argument(4, arg)
    read (arg, *) nx
    call get_command_argument(5, arg)
    read (arg, *) pairs
    call maunet_set_num_threads(1)
    call model%load(trim(path))
    if (c_load(trim(path) // c_null_char, handle) /= MAUNET_OK) error stop 1
    fine_xy = model%output_shape(nx, ny)
    allocate(coarse(nx, ny, 1), fine(fine_xy(1), fine_xy(2), 1), fine_c(fine_xy(1), fine_xy(2), 1))
    allocate(t_f(pairs), t_c(pairs), ratio(pairs))
    open (newunit=unit, file=trim(input), access="stream", form="unformatted", status="old")
    read (unit) coarse
    close (unit)
    call workspace%create(model, nx, ny, 1)
    call measure(.false., "Fortran vs C")
    call measure(.true., "Fortran with a workspace vs C")

contains

    subroutine measure(with_workspace, label)
        logical, intent(in) :: with_workspace
        character(len=*), intent(in) :: label
        do r = 0, pairs
            ! Each side goes first in every other pair, so an order effect cancels.
            call system_clock(t0, rate)
            if (mod(r, 2) == 0) then
                call fortran_predict(with_workspace)
            else if (c_predict(handle, coarse, 1, ny, nx, fine_c, c_null_ptr) /= MAUNET_OK) then
                error stop 1
            end if
            call system_clock(t1)
            if (mod(r, 2) == 1) then
                call fortran_predict(with_workspace)
            else if (c_predict(handle, coarse, 1, ny, nx, fine_c, c_null_ptr) /= MAUNET_OK) then
                error stop 1
            end if
            call system_clock(t2)
            if (any(fine /= fine_c .and. .not. (fine /= fine .and. fine_c /= fine_c))) error stop "results differ"
            if (r == 0) cycle
            if (mod(r, 2) == 0) then
                t_f(r) = real(t1 - t0, 8) * 1d3 / real(rate, 8)
                t_c(r) = real(t2 - t1, 8) * 1d3 / real(rate, 8)
            else
                t_c(r) = real(t1 - t0, 8) * 1d3 / real(rate, 8)
                t_f(r) = real(t2 - t1, 8) * 1d3 / real(rate, 8)
            end if
            ratio(r) = 100d0 * (t_f(r) / t_c(r) - 1d0)
        end do
        print '(a, a, f0.3, a, f0.3, a, sp, f0.2, a, f0.2, a, f0.2, a, ss, i0, a)', label, ": median ", &
            quantile(t_f, 0.5d0), " ms vs ", quantile(t_c, 0.5d0), " ms; per-pair difference median ", &
            quantile(ratio, 0.5d0), "% (quartiles ", quantile(ratio, 0.25d0), "% .. ", quantile(ratio, 0.75d0), "%), ", &
            pairs, " pairs"
    end subroutine

    subroutine fortran_predict(with_workspace)
        logical, intent(in) :: with_workspace
        if (with_workspace) then
            call model%predict(coarse, fine, workspace=workspace)
        else
            call model%predict(coarse, fine)
        end if
    end subroutine

    real(8) function quantile(values, q)
        real(8), intent(in) :: values(:), q
        real(8) :: v(size(values)), tmp
        integer :: i, j
        v = values
        do i = 2, size(v)  ! insertion sort
            tmp = v(i)
            j = i - 1
            do while (j >= 1)
                if (v(j) <= tmp) exit
                v(j + 1) = v(j)
                j = j - 1
            end do
            v(j + 1) = tmp
        end do
        quantile = v(nint(q * (size(v) - 1)) + 1)
    end function

end program bench_predict_fortran
