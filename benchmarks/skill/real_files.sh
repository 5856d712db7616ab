# Sourced by the skill benchmarks: the repository's two real files and how each is held out.
#   real_file_args NAME   sets the array data_args to the data options of `maunet train` /
#                         `maunet compare` for NAME (bcsd or stageiv); needs $data (tests/data).
# BCSD (monthly, 1999) trains on January-July, validates (picks the epoch) on August-September
# and is scored on October-December; Stage IV (23 hours of one storm) has no dates to split by,
# so its last 6 hours validate and are scored.
real_files=(bcsd stageiv)
real_file_args() {
  case "$1" in
    bcsd)
      data_args=(--in "$data/bcsd_obs_1999.nc" --var pr --units mm/month --train-period 1999-01-01/1999-07-31
                 --val-period 1999-08-01/1999-09-30 --test-period 1999-10-01/1999-12-31) ;;
    stageiv)
      data_args=(--in "$data/stageiv_florence_2018.nc" --var Total_precipitation_surface_1_Hour_Accumulation
                 --val-fraction 0.25) ;;
    *) echo "real_file_args: no file named '$1'" >&2; return 1 ;;
  esac
}
