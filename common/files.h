// Whole files: read one, or replace one so that a reader never sees half of it.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/expected.h"

namespace netd {

// The whole content of `path`, or a one-line error. When `missing` is given
// it says whether the error was ENOENT (no such file).
Expected<std::string, std::string> read_file(const std::string& path, bool* missing = nullptr);

// Writes `text` to a temporary file next to `path` (created with `mode`),
// syncs it and renames it over `path`: readers see the old or the new file,
// never a part. Returns a one-line error.
Expected<void, std::string> write_file_atomic(const std::string& path, const std::string& text, mode_t mode = 0600);

}  // namespace netd
