/* core_version — the product version, set by the build. */
#ifndef CORE_VERSION_H
#define CORE_VERSION_H

#ifndef ZENTRALE_VERSION
#define ZENTRALE_VERSION "0.0.0-dev"
#endif

#endif
