// maunet/version.hpp: the library version (semantic versioning).
#pragma once

#define MAUNET_VERSION_MAJOR 0
#define MAUNET_VERSION_MINOR 1
#define MAUNET_VERSION_PATCH 0
#define MAUNET_VERSION_STRING "0.1.0"
