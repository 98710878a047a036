// The system compression libraries Kafka's codecs need. `make deps` installs their -dev packages
// (zlib1g-dev, liblz4-dev, libzstd-dev, libsnappy-dev).
#ifndef RILL_CCODECS_SHIM_H
#define RILL_CCODECS_SHIM_H
#include <zlib.h>
#include <lz4.h>
#include <lz4frame.h>
#include <zstd.h>
#include <snappy-c.h>
#endif
