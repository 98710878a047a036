// The system SQLite library, for the exactly-once workload's external store
// (Sources/RillHarness/ExactlyOnce). `make deps` installs libsqlite3-dev.
#ifndef RILL_CSQLITE_SHIM_H
#define RILL_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
