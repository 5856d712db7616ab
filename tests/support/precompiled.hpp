// The precompiled header of the test programs: Catch2 and the whole library, parsed once.
// Test files still include what they use (they also build without it).
#pragma once

#include <catch2/catch.hpp>

#include "maunet/maunet.hpp"
