// A temporary directory for one test, removed with everything in it.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace netd::testing {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/netd-test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Creates file `name` (content "x") in the directory; returns its path.
  std::string make(const std::string& name) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << "x";
    return p;
  }
};

}  // namespace netd::testing
