! The Fortran module `maunet` (Fortran 2008, iso_c_binding) over the C API maunet/c/maunet.h.
!
! Fields are real(c_float) arrays in their natural Fortran order (x, y, t): the memory layout
! of the C API's row-major [t, y, x], so contiguous arrays are passed without a copy.
! Objects (maunet_model, maunet_workspace, maunet_bias_correction, maunet_regridder) free their C handle in
! their final procedure. They cannot be copied (assignment stops the program): pass them
! by reference. Every procedure that can fail takes optional `stat` and `errmsg`: with
! `stat` present a failure sets it (MAUNET_OK = 0 on success) and `errmsg` to the message;
! without `stat` a failure stops the program with the message (error stop).
module maunet
    use, intrinsic :: iso_c_binding
    implicit none
    private

    integer, parameter, public :: MAUNET_OK = 0, MAUNET_ERROR_ARGUMENT = 1, MAUNET_ERROR_SHAPE = 2, &
        MAUNET_ERROR_FORMAT = 3, MAUNET_ERROR_IO = 4, MAUNET_ERROR_NUMERICAL = 5, MAUNET_ERROR_MEMORY = 6, &
        MAUNET_ERROR_INTERNAL = 7
    integer, parameter, public :: MAUNET_TASK_DOWNSCALING = 0, MAUNET_TASK_BIAS_CORRECTION = 1
    integer, parameter, public :: MAUNET_BC_LINEAR = 0, MAUNET_BC_QM = 1, MAUNET_BC_QDM = 2
    integer, parameter, public :: MAUNET_BC_MULTIPLICATIVE = 0, MAUNET_BC_ADDITIVE = 1
    integer, parameter, public :: MAUNET_REGRID_NEAREST = 0, MAUNET_REGRID_BILINEAR = 1, &
        MAUNET_REGRID_BICUBIC = 2, MAUNET_REGRID_BLOCK_MEAN = 3

    public :: maunet_version, maunet_set_num_threads, maunet_get_num_threads, maunet_last_error

    ! The C struct maunet_bc_options, field for field.
    type, bind(c), public :: maunet_bc_options
        integer(c_int) :: method = MAUNET_BC_QDM
        integer(c_int) :: kind = MAUNET_BC_MULTIPLICATIVE
        integer(c_int) :: window = 0
        integer(c_int) :: days_in_year = 365
        real(c_double) :: threshold = 0.1d0
        real(c_double) :: max_ratio = 10d0
        integer(c_int) :: quantiles = 100
        integer(c_long_long) :: seed = 42
        integer(c_int) :: frequency_adaptation = 1
    end type

    type, public :: maunet_model
        type(c_ptr), private :: handle = c_null_ptr
    contains
        procedure :: load => model_load
        procedure :: loaded => model_loaded
        procedure :: task => model_task
        procedure :: factor => model_factor
        procedure :: grid_multiple => model_grid_multiple
        procedure :: units => model_units
        procedure :: output_shape => model_output_shape
        procedure :: predict => model_predict
        procedure, private :: model_no_copy
        generic :: assignment(=) => model_no_copy
        final :: model_final
    end type

    ! Memory a model's predict draws from instead of the heap, so a time loop allocates nothing
    ! (maunet_workspace_create in the C API). One per thread.
    type, public :: maunet_workspace
        type(c_ptr), private :: handle = c_null_ptr
    contains
        procedure :: create => workspace_create
        procedure :: bytes => workspace_bytes
        procedure, private :: workspace_no_copy
        generic :: assignment(=) => workspace_no_copy
        final :: workspace_final
    end type

    type, public :: maunet_bias_correction
        type(c_ptr), private :: handle = c_null_ptr
    contains
        procedure :: fit => bc_fit
        procedure :: save => bc_save
        procedure :: load => bc_load
        procedure :: options => bc_info
        procedure :: apply => bc_apply
        procedure, private :: bc_no_copy
        generic :: assignment(=) => bc_no_copy
        final :: bc_final
    end type

    type, public :: maunet_regridder
        type(c_ptr), private :: handle = c_null_ptr
    contains
        procedure :: create => regridder_create
        procedure :: output_shape => regridder_output_shape
        procedure :: regrid => regridder_regrid
        procedure, private :: regridder_no_copy
        generic :: assignment(=) => regridder_no_copy
        final :: regridder_final
    end type

    interface
        function c_last_error() bind(c, name="maunet_last_error")
            import :: c_ptr
            type(c_ptr) :: c_last_error
        end function
        function c_version(major, minor, patch) bind(c, name="maunet_version")
            import :: c_ptr, c_int
            integer(c_int), intent(out) :: major, minor, patch
            type(c_ptr) :: c_version
        end function
        function c_strlen(s) bind(c, name="strlen")
            import :: c_ptr, c_size_t
            type(c_ptr), value :: s
            integer(c_size_t) :: c_strlen
        end function
        function c_set_num_threads(n) bind(c, name="maunet_set_num_threads")
            import :: c_int
            integer(c_int), value :: n
            integer(c_int) :: c_set_num_threads
        end function
        function c_get_num_threads() bind(c, name="maunet_get_num_threads")
            import :: c_int
            integer(c_int) :: c_get_num_threads
        end function
        function c_model_load(path, model) bind(c, name="maunet_model_load")
            import :: c_char, c_ptr, c_int
            character(kind=c_char), intent(in) :: path(*)
            type(c_ptr), intent(out) :: model
            integer(c_int) :: c_model_load
        end function
        subroutine c_model_free(model) bind(c, name="maunet_model_free")
            import :: c_ptr
            type(c_ptr), value :: model
        end subroutine
        function c_model_units(model, units) bind(c, name="maunet_model_units")
            import :: c_ptr, c_int
            type(c_ptr), value :: model
            type(c_ptr), intent(out) :: units
            integer(c_int) :: c_model_units
        end function
        function c_model_output_size(model, ny, nx, out_ny, out_nx) bind(c, name="maunet_model_output_size")
            import :: c_ptr, c_int
            type(c_ptr), value :: model
            integer(c_int), value :: ny, nx
            integer(c_int), intent(out) :: out_ny, out_nx
            integer(c_int) :: c_model_output_size
        end function
        function c_model_predict(model, input, n, ny, nx, output, fill) bind(c, name="maunet_model_predict")
            import :: c_ptr, c_int, c_float
            type(c_ptr), value :: model
            real(c_float), intent(in) :: input(*)
            integer(c_int), value :: n, ny, nx
            real(c_float), intent(out) :: output(*)
            type(c_ptr), value :: fill
            integer(c_int) :: c_model_predict
        end function
        function c_model_predict_ws(model, input, n, ny, nx, output, fill, ws) bind(c, name="maunet_model_predict_ws")
            import :: c_ptr, c_int, c_float
            type(c_ptr), value :: model
            real(c_float), intent(in) :: input(*)
            integer(c_int), value :: n, ny, nx
            real(c_float), intent(out) :: output(*)
            type(c_ptr), value :: fill, ws
            integer(c_int) :: c_model_predict_ws
        end function
        function c_workspace_create(model, n, ny, nx, ws) bind(c, name="maunet_workspace_create")
            import :: c_ptr, c_int
            type(c_ptr), value :: model
            integer(c_int), value :: n, ny, nx
            type(c_ptr), intent(out) :: ws
            integer(c_int) :: c_workspace_create
        end function
        subroutine c_workspace_free(ws) bind(c, name="maunet_workspace_free")
            import :: c_ptr
            type(c_ptr), value :: ws
        end subroutine
        function c_workspace_bytes(ws, bytes) bind(c, name="maunet_workspace_bytes")
            import :: c_ptr, c_int, c_size_t
            type(c_ptr), value :: ws
            integer(c_size_t), intent(out) :: bytes
            integer(c_int) :: c_workspace_bytes
        end function
        function c_bc_fit(options, obs, n_obs, obs_doy, sim, n_sim, sim_doy, ny, nx, fill, bc) &
                bind(c, name="maunet_bc_fit")
            import :: c_ptr, c_int, c_float, maunet_bc_options
            type(maunet_bc_options), intent(in) :: options
            real(c_float), intent(in) :: obs(*), sim(*)
            integer(c_int), value :: n_obs, n_sim, ny, nx
            type(c_ptr), value :: obs_doy, sim_doy, fill
            type(c_ptr), intent(out) :: bc
            integer(c_int) :: c_bc_fit
        end function
        subroutine c_bc_free(bc) bind(c, name="maunet_bc_free")
            import :: c_ptr
            type(c_ptr), value :: bc
        end subroutine
        function c_bc_save(bc, path) bind(c, name="maunet_bc_save")
            import :: c_ptr, c_char, c_int
            type(c_ptr), value :: bc
            character(kind=c_char), intent(in) :: path(*)
            integer(c_int) :: c_bc_save
        end function
        function c_bc_load(path, bc) bind(c, name="maunet_bc_load")
            import :: c_ptr, c_char, c_int
            character(kind=c_char), intent(in) :: path(*)
            type(c_ptr), intent(out) :: bc
            integer(c_int) :: c_bc_load
        end function
        function c_bc_info(bc, options, ny, nx) bind(c, name="maunet_bc_info")
            import :: c_ptr, c_int, maunet_bc_options
            type(c_ptr), value :: bc
            type(maunet_bc_options), intent(out) :: options
            integer(c_int), intent(out) :: ny, nx
            integer(c_int) :: c_bc_info
        end function
        function c_bc_apply(bc, x, n, doy, ny, nx, out, fill) bind(c, name="maunet_bc_apply")
            import :: c_ptr, c_int, c_float
            type(c_ptr), value :: bc
            real(c_float), intent(in) :: x(*)
            integer(c_int), value :: n, ny, nx
            type(c_ptr), value :: doy, fill
            real(c_float), intent(out) :: out(*)
            integer(c_int) :: c_bc_apply
        end function
        function c_regridder_create(method, factor, regridder) bind(c, name="maunet_regridder_create")
            import :: c_ptr, c_int
            integer(c_int), value :: method, factor
            type(c_ptr), intent(out) :: regridder
            integer(c_int) :: c_regridder_create
        end function
        subroutine c_regridder_free(regridder) bind(c, name="maunet_regridder_free")
            import :: c_ptr
            type(c_ptr), value :: regridder
        end subroutine
        function c_regridder_output_size(regridder, ny, nx, out_ny, out_nx) bind(c, name="maunet_regridder_output_size")
            import :: c_ptr, c_int
            type(c_ptr), value :: regridder
            integer(c_int), value :: ny, nx
            integer(c_int), intent(out) :: out_ny, out_nx
            integer(c_int) :: c_regridder_output_size
        end function
        function c_regrid(regridder, input, n, ny, nx, output, fill) bind(c, name="maunet_regrid")
            import :: c_ptr, c_int, c_float
            type(c_ptr), value :: regridder
            real(c_float), intent(in) :: input(*)
            integer(c_int), value :: n, ny, nx
            real(c_float), intent(out) :: output(*)
            type(c_ptr), value :: fill
            integer(c_int) :: c_regrid
        end function
    end interface

    ! The scalar queries share one C signature: int f(const maunet_model*, int*).
    interface
        function c_model_task(model, value) bind(c, name="maunet_model_task")
            import :: c_ptr, c_int
            type(c_ptr), value :: model
            integer(c_int), intent(out) :: value
            integer(c_int) :: c_model_task
        end function
        function c_model_factor(model, value) bind(c, name="maunet_model_factor")
            import :: c_ptr, c_int
            type(c_ptr), value :: model
            integer(c_int), intent(out) :: value
            integer(c_int) :: c_model_factor
        end function
        function c_model_grid_multiple(model, value) bind(c, name="maunet_model_grid_multiple")
            import :: c_ptr, c_int
            type(c_ptr), value :: model
            integer(c_int), intent(out) :: value
            integer(c_int) :: c_model_grid_multiple
        end function
    end interface

contains

    ! ------------------------------------------------------------ helpers

    function c_string(p) result(s)
        type(c_ptr), intent(in) :: p
        character(len=:), allocatable :: s
        character(kind=c_char), pointer :: chars(:)
        integer :: i, n
        if (.not. c_associated(p)) then
            s = ""
            return
        end if
        n = int(c_strlen(p))
        call c_f_pointer(p, chars, [n])
        allocate(character(len=n) :: s)
        do i = 1, n
            s(i:i) = chars(i)
        end do
    end function

    ! The message of the last failed call on this thread.
    function maunet_last_error() result(message)
        character(len=:), allocatable :: message
        message = c_string(c_last_error())
    end function

    ! Reports a status: into stat/errmsg when stat is present, else error stop on failure.
    subroutine report(status, stat, errmsg)
        integer(c_int), intent(in) :: status
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        if (present(stat)) stat = int(status)
        if (status == MAUNET_OK) return
        if (present(errmsg)) errmsg = maunet_last_error()
        if (.not. present(stat)) call stop_with("maunet: " // maunet_last_error())
    end subroutine

    ! A size mismatch found in Fortran: reported like the C API's MAUNET_ERROR_SHAPE.
    subroutine report_shape_error(message, stat, errmsg)
        character(len=*), intent(in) :: message
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        if (present(errmsg)) errmsg = message
        if (present(stat)) then
            stat = MAUNET_ERROR_SHAPE
            return
        end if
        call stop_with("maunet: " // message)
    end subroutine

    ! True if output has the (x, y) shape expected_xy and input's number of fields; otherwise
    ! reports a shape error naming `what`.
    logical function output_fits(input, output, expected_xy, what, stat, errmsg)
        real(c_float), intent(in) :: input(:, :, :), output(:, :, :)
        integer, intent(in) :: expected_xy(2)
        character(len=*), intent(in) :: what
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        output_fits = size(output, 1) == expected_xy(1) .and. size(output, 2) == expected_xy(2) .and. &
                      size(output, 3) == size(input, 3)
        if (.not. output_fits) call report_shape_error(what // ": the output has the wrong shape", stat, errmsg)
    end function

    ! error stop with a message built at run time (Fortran 2008 allows only constant stop codes).
    subroutine stop_with(message)
        use, intrinsic :: iso_fortran_env, only: error_unit
        character(len=*), intent(in) :: message
        write (error_unit, '(a)') message
        error stop 1
    end subroutine

    function c_path(path) result(p)
        character(len=*), intent(in) :: path
        character(kind=c_char, len=:), allocatable :: p
        p = trim(path) // c_null_char
    end function

    function fill_pointer(fill_value, fill) result(p)
        real(c_float), intent(in), optional, target :: fill_value
        real(c_float), intent(inout), target :: fill
        type(c_ptr) :: p
        p = c_null_ptr
        if (present(fill_value)) then
            fill = fill_value
            p = c_loc(fill)
        end if
    end function

    ! Using an object before load/fit/create is a programming error: it stops the program.
    subroutine require_handle(handle, what)
        type(c_ptr), intent(in) :: handle
        character(len=*), intent(in) :: what
        if (.not. c_associated(handle)) call stop_with("maunet: " // what // " is used before it was loaded or created")
    end subroutine

    ! ------------------------------------------------------------ library

    function maunet_version() result(version)
        character(len=:), allocatable :: version
        integer(c_int) :: major, minor, patch
        version = c_string(c_version(major, minor, patch))
    end function

    subroutine maunet_set_num_threads(n, stat, errmsg)
        integer, intent(in) :: n
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        call report(c_set_num_threads(int(n, c_int)), stat, errmsg)
    end subroutine

    integer function maunet_get_num_threads()
        maunet_get_num_threads = int(c_get_num_threads())
    end function

    ! ------------------------------------------------------------ models

    subroutine model_load(self, path, stat, errmsg)
        class(maunet_model), intent(inout) :: self
        character(len=*), intent(in) :: path
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_ptr) :: handle
        integer(c_int) :: status
        status = c_model_load(c_path(path), handle)
        if (status == MAUNET_OK) then
            if (c_associated(self%handle)) call c_model_free(self%handle)
            self%handle = handle
        end if
        call report(status, stat, errmsg)
    end subroutine

    logical function model_loaded(self)
        class(maunet_model), intent(in) :: self
        model_loaded = c_associated(self%handle)
    end function

    integer function model_task(self)
        class(maunet_model), intent(in) :: self
        integer(c_int) :: v
        call require_handle(self%handle, "a maunet_model")
        call report(c_model_task(self%handle, v))
        model_task = int(v)
    end function

    integer function model_factor(self)
        class(maunet_model), intent(in) :: self
        integer(c_int) :: v
        call require_handle(self%handle, "a maunet_model")
        call report(c_model_factor(self%handle, v))
        model_factor = int(v)
    end function

    integer function model_grid_multiple(self)
        class(maunet_model), intent(in) :: self
        integer(c_int) :: v
        call require_handle(self%handle, "a maunet_model")
        call report(c_model_grid_multiple(self%handle, v))
        model_grid_multiple = int(v)
    end function

    function model_units(self) result(units)
        class(maunet_model), intent(in) :: self
        character(len=:), allocatable :: units
        type(c_ptr) :: p
        call require_handle(self%handle, "a maunet_model")
        call report(c_model_units(self%handle, p))
        units = c_string(p)
    end function

    ! The (x, y) shape of the output for an input of nx x ny cells.
    function model_output_shape(self, nx, ny) result(shape_xy)
        class(maunet_model), intent(in) :: self
        integer, intent(in) :: nx, ny
        integer :: shape_xy(2)
        integer(c_int) :: out_ny, out_nx
        call require_handle(self%handle, "a maunet_model")
        call report(c_model_output_size(self%handle, int(ny, c_int), int(nx, c_int), out_ny, out_nx))
        shape_xy = [int(out_nx), int(out_ny)]
    end function

    ! output(:, :, t) = the model applied to input(:, :, t); output's (x, y) shape is
    ! output_shape(size(input, 1), size(input, 2)). Missing: NaN, or fill_value when given.
    ! With `workspace` (made for this model and size by workspace%create), the call allocates
    ! nothing; the results are the same.
    subroutine model_predict(self, input, output, fill_value, stat, errmsg, workspace)
        class(maunet_model), intent(in) :: self
        real(c_float), intent(in), contiguous :: input(:, :, :)
        real(c_float), intent(out), contiguous :: output(:, :, :)
        real(c_float), intent(in), optional :: fill_value
        type(maunet_workspace), intent(inout), optional :: workspace
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        real(c_float), target :: fill
        integer(c_int) :: status
        call require_handle(self%handle, "a maunet_model")
        if (.not. output_fits(input, output, self%output_shape(size(input, 1), size(input, 2)), &
                              "maunet_model%predict", stat, errmsg)) return
        if (present(workspace)) then
            call require_handle(workspace%handle, "a maunet_workspace")
            status = c_model_predict_ws(self%handle, input, int(size(input, 3), c_int), int(size(input, 2), c_int), &
                                        int(size(input, 1), c_int), output, fill_pointer(fill_value, fill), &
                                        workspace%handle)
        else
            status = c_model_predict(self%handle, input, int(size(input, 3), c_int), int(size(input, 2), c_int), &
                                     int(size(input, 1), c_int), output, fill_pointer(fill_value, fill))
        end if
        call report(status, stat, errmsg)
    end subroutine

    ! ------------------------------------------------------------ workspaces

    ! Memory for predicting nt fields of nx x ny (coarse) with `model`: predict calls of that
    ! size then allocate nothing. Replaces a workspace the object held.
    subroutine workspace_create(self, model, nx, ny, nt, stat, errmsg)
        class(maunet_workspace), intent(inout) :: self
        class(maunet_model), intent(in) :: model
        integer, intent(in) :: nx, ny, nt
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_ptr) :: h
        call require_handle(model%handle, "a maunet_model")
        if (c_associated(self%handle)) call c_workspace_free(self%handle)
        self%handle = c_null_ptr
        call report(c_workspace_create(model%handle, int(nt, c_int), int(ny, c_int), int(nx, c_int), h), stat, errmsg)
        self%handle = h
    end subroutine

    ! The bytes the workspace holds.
    integer(c_size_t) function workspace_bytes(self)
        class(maunet_workspace), intent(in) :: self
        call require_handle(self%handle, "a maunet_workspace")
        call report(c_workspace_bytes(self%handle, workspace_bytes))
    end function

    subroutine workspace_no_copy(self, other)
        class(maunet_workspace), intent(inout) :: self
        class(maunet_workspace), intent(in) :: other
        if (c_associated(other%handle) .or. c_associated(self%handle)) &
            call stop_with("maunet: a maunet_workspace cannot be copied; pass it by reference")
    end subroutine

    subroutine workspace_final(self)
        type(maunet_workspace), intent(inout) :: self
        if (c_associated(self%handle)) call c_workspace_free(self%handle)
        self%handle = c_null_ptr
    end subroutine

    subroutine model_no_copy(self, other)
        class(maunet_model), intent(inout) :: self
        class(maunet_model), intent(in) :: other
        if (c_associated(other%handle) .or. c_associated(self%handle)) &
            call stop_with("maunet: a maunet_model cannot be copied; pass it by reference")
    end subroutine

    subroutine model_final(self)
        type(maunet_model), intent(inout) :: self
        if (c_associated(self%handle)) call c_model_free(self%handle)
        self%handle = c_null_ptr
    end subroutine

    ! ------------------------------------------------------------ bias correction

    ! Fits on obs(:, :, t) and sim(:, :, t) (same x, y). options: maunet_bc_options (the
    ! defaults of `maunet bc`); obs_doy and sim_doy are needed with options%window > 0.
    subroutine bc_fit(self, obs, sim, options, obs_doy, sim_doy, fill_value, stat, errmsg)
        class(maunet_bias_correction), intent(inout) :: self
        real(c_float), intent(in), contiguous :: obs(:, :, :), sim(:, :, :)
        type(maunet_bc_options), intent(in), optional :: options
        integer(c_int), intent(in), optional, target, contiguous :: obs_doy(:), sim_doy(:)
        real(c_float), intent(in), optional :: fill_value
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(maunet_bc_options) :: o
        type(c_ptr) :: handle, po, ps
        real(c_float), target :: fill
        integer(c_int) :: status
        if (present(options)) o = options
        po = c_null_ptr
        ps = c_null_ptr
        if (present(obs_doy)) po = c_loc(obs_doy)
        if (present(sim_doy)) ps = c_loc(sim_doy)
        if (size(obs, 1) /= size(sim, 1) .or. size(obs, 2) /= size(sim, 2)) then
            call report_shape_error("maunet_bias_correction%fit: obs and sim must share the grid (x, y)", stat, errmsg)
            return
        end if
        status = c_bc_fit(o, obs, int(size(obs, 3), c_int), po, sim, int(size(sim, 3), c_int), ps, &
                          int(size(obs, 2), c_int), int(size(obs, 1), c_int), fill_pointer(fill_value, fill), handle)
        if (status == MAUNET_OK) then
            if (c_associated(self%handle)) call c_bc_free(self%handle)
            self%handle = handle
        end if
        call report(status, stat, errmsg)
    end subroutine

    subroutine bc_save(self, path, stat, errmsg)
        class(maunet_bias_correction), intent(in) :: self
        character(len=*), intent(in) :: path
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        call require_handle(self%handle, "a maunet_bias_correction")
        call report(c_bc_save(self%handle, c_path(path)), stat, errmsg)
    end subroutine

    subroutine bc_load(self, path, stat, errmsg)
        class(maunet_bias_correction), intent(inout) :: self
        character(len=*), intent(in) :: path
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_ptr) :: handle
        integer(c_int) :: status
        status = c_bc_load(c_path(path), handle)
        if (status == MAUNET_OK) then
            if (c_associated(self%handle)) call c_bc_free(self%handle)
            self%handle = handle
        end if
        call report(status, stat, errmsg)
    end subroutine

    ! The fitted options; nx, ny: the fitted grid.
    function bc_info(self, nx, ny) result(options)
        class(maunet_bias_correction), intent(in) :: self
        integer, intent(out), optional :: nx, ny
        type(maunet_bc_options) :: options
        integer(c_int) :: cy, cx
        call require_handle(self%handle, "a maunet_bias_correction")
        call report(c_bc_info(self%handle, options, cy, cx))
        if (present(nx)) nx = int(cx)
        if (present(ny)) ny = int(cy)
    end function

    ! out(:, :, t) = the correction of x(:, :, t); doy is needed for a fit with windows.
    subroutine bc_apply(self, x, out, doy, fill_value, stat, errmsg)
        class(maunet_bias_correction), intent(in) :: self
        real(c_float), intent(in), contiguous :: x(:, :, :)
        real(c_float), intent(out), contiguous :: out(:, :, :)
        integer(c_int), intent(in), optional, target, contiguous :: doy(:)
        real(c_float), intent(in), optional :: fill_value
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        real(c_float), target :: fill
        type(c_ptr) :: pd
        integer(c_int) :: status
        call require_handle(self%handle, "a maunet_bias_correction")
        if (.not. output_fits(x, out, [size(x, 1), size(x, 2)], "maunet_bias_correction%apply", stat, errmsg)) return
        pd = c_null_ptr
        if (present(doy)) pd = c_loc(doy)
        status = c_bc_apply(self%handle, x, int(size(x, 3), c_int), pd, int(size(x, 2), c_int), &
                            int(size(x, 1), c_int), out, fill_pointer(fill_value, fill))
        call report(status, stat, errmsg)
    end subroutine

    subroutine bc_no_copy(self, other)
        class(maunet_bias_correction), intent(inout) :: self
        class(maunet_bias_correction), intent(in) :: other
        if (c_associated(other%handle) .or. c_associated(self%handle)) &
            call stop_with("maunet: a maunet_bias_correction cannot be copied; pass it by reference")
    end subroutine

    subroutine bc_final(self)
        type(maunet_bias_correction), intent(inout) :: self
        if (c_associated(self%handle)) call c_bc_free(self%handle)
        self%handle = c_null_ptr
    end subroutine

    ! ------------------------------------------------------------ regridding

    subroutine regridder_create(self, method, factor, stat, errmsg)
        class(maunet_regridder), intent(inout) :: self
        integer, intent(in) :: method, factor
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        type(c_ptr) :: handle
        integer(c_int) :: status
        status = c_regridder_create(int(method, c_int), int(factor, c_int), handle)
        if (status == MAUNET_OK) then
            if (c_associated(self%handle)) call c_regridder_free(self%handle)
            self%handle = handle
        end if
        call report(status, stat, errmsg)
    end subroutine

    function regridder_output_shape(self, nx, ny, stat, errmsg) result(shape_xy)
        class(maunet_regridder), intent(in) :: self
        integer, intent(in) :: nx, ny
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        integer :: shape_xy(2)
        integer(c_int) :: out_ny, out_nx
        call require_handle(self%handle, "a maunet_regridder")
        out_ny = 0
        out_nx = 0
        call report(c_regridder_output_size(self%handle, int(ny, c_int), int(nx, c_int), out_ny, out_nx), stat, errmsg)
        shape_xy = [int(out_nx), int(out_ny)]
    end function

    subroutine regridder_regrid(self, input, output, fill_value, stat, errmsg)
        class(maunet_regridder), intent(in) :: self
        real(c_float), intent(in), contiguous :: input(:, :, :)
        real(c_float), intent(out), contiguous :: output(:, :, :)
        real(c_float), intent(in), optional :: fill_value
        integer, intent(out), optional :: stat
        character(len=*), intent(inout), optional :: errmsg
        real(c_float), target :: fill
        integer :: expected(2), s
        integer(c_int) :: status
        call require_handle(self%handle, "a maunet_regridder")
        expected = self%output_shape(size(input, 1), size(input, 2), s, errmsg)
        if (s /= MAUNET_OK) then
            call report(int(s, c_int), stat, errmsg)
            return
        end if
        if (.not. output_fits(input, output, expected, "maunet_regridder%regrid", stat, errmsg)) return
        status = c_regrid(self%handle, input, int(size(input, 3), c_int), int(size(input, 2), c_int), &
                          int(size(input, 1), c_int), output, fill_pointer(fill_value, fill))
        call report(status, stat, errmsg)
    end subroutine

    subroutine regridder_no_copy(self, other)
        class(maunet_regridder), intent(inout) :: self
        class(maunet_regridder), intent(in) :: other
        if (c_associated(other%handle) .or. c_associated(self%handle)) &
            call stop_with("maunet: a maunet_regridder cannot be copied; pass it by reference")
    end subroutine

    subroutine regridder_final(self)
        type(maunet_regridder), intent(inout) :: self
        if (c_associated(self%handle)) call c_regridder_free(self%handle)
        self%handle = c_null_ptr
    end subroutine

end module maunet
