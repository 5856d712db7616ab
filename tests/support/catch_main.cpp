// The one main() of every maunet test program.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
