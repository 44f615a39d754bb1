#include "config/config_files.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "common/unique_fd.h"

namespace tandem::config {

bool has_glob_chars(const std::string& pattern) {
  return pattern.find_first_of("*?[") != std::string::npos;
}

bool DiskConfigFiles::read(const std::string& path, std::string* text, std::string* error) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    *error = std::strerror(errno);
    return false;
  }
  UniqueFd fd(raw);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    *error = std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *error = "not a regular file";
    return false;
  }
  text->clear();
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    if (text->size() + static_cast<size_t>(n) > kConfigFileBytesMax) {
      *error = "file is larger than 1 MiB";
      return false;
    }
    text->append(buf, static_cast<size_t>(n));
  }
  return true;
}

bool DiskConfigFiles::glob(const std::string& pattern, std::vector<std::string>* paths, std::string* error) {
  paths->clear();
  if (!has_glob_chars(pattern)) {
    paths->push_back(pattern);
    return true;
  }
  glob_t g{};
  int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  if (rc == GLOB_NOMATCH) {
    globfree(&g);
    return true;  // like drbdadm: a pattern that matches nothing includes nothing
  }
  if (rc != 0) {
    globfree(&g);
    *error = rc == GLOB_NOSPACE ? "out of memory" : "read error while expanding the pattern";
    return false;
  }
  if (g.gl_pathc > kIncludeMatchesMax) {
    globfree(&g);
    *error = "pattern matches more than 1024 files";
    return false;
  }
  for (size_t i = 0; i < g.gl_pathc; ++i) paths->emplace_back(g.gl_pathv[i]);  // glob(3) sorts
  globfree(&g);
  return true;
}

std::string DiskConfigFiles::canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return path;
  return buf;
}

bool MemoryConfigFiles::read(const std::string& path, std::string* text, std::string* error) {
  auto it = files.find(path);
  if (it == files.end()) {
    *error = "No such file or directory";
    return false;
  }
  *text = it->second;
  return true;
}

bool MemoryConfigFiles::glob(const std::string& pattern, std::vector<std::string>* paths, std::string* error) {
  paths->clear();
  if (!has_glob_chars(pattern)) {
    paths->push_back(pattern);
    return true;
  }
  for (const auto& [name, text] : files) {  // std::map keeps names sorted, like glob(3)
    if (::fnmatch(pattern.c_str(), name.c_str(), FNM_PATHNAME) == 0) paths->push_back(name);
  }
  return true;
}

}  // namespace tandem::config
