// The only way config parsing touches the filesystem: reading a file and expanding an include glob.
// Kept behind an interface so the parser stays pure and tests can use an in-memory tree (MemoryConfigFiles).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tandem::config {

// Bounds: a configuration file larger than this is refused (a resource file is a few KiB; a huge file is
// almost certainly a wrong path such as a block device).
inline constexpr size_t kConfigFileBytesMax = 1 << 20;
// Includes nest at most this deep; deeper nesting is reported as an error (it is almost always a cycle
// through different spellings of a path).
inline constexpr int kIncludeDepthMax = 16;
// One include glob may match at most this many files.
inline constexpr size_t kIncludeMatchesMax = 1024;

class ConfigFiles {
 public:
  virtual ~ConfigFiles() = default;
  // Reads the whole file. On failure returns false and sets *error to a reason without the path
  // (e.g. "No such file or directory").
  virtual bool read(const std::string& path, std::string* text, std::string* error) = 0;
  // Expands a glob(7) pattern to existing paths, sorted. A pattern without wildcards is returned as is
  // (so that a missing literal include is reported by read()). Returns false with *error on failure.
  virtual bool glob(const std::string& pattern, std::vector<std::string>* paths, std::string* error) = 0;
  // A canonical spelling used to detect include cycles (realpath for real files).
  virtual std::string canonical(const std::string& path) = 0;
};

// Real files (stat/open/read, glob(3), realpath(3)).
class DiskConfigFiles final : public ConfigFiles {
 public:
  bool read(const std::string& path, std::string* text, std::string* error) override;
  bool glob(const std::string& pattern, std::vector<std::string>* paths, std::string* error) override;
  std::string canonical(const std::string& path) override;
};

// In-memory files for tests. glob() supports '*' and '?' via fnmatch(3) over the stored names.
class MemoryConfigFiles final : public ConfigFiles {
 public:
  std::map<std::string, std::string> files;
  bool read(const std::string& path, std::string* text, std::string* error) override;
  bool glob(const std::string& pattern, std::vector<std::string>* paths, std::string* error) override;
  std::string canonical(const std::string& path) override { return path; }
};

// True when the pattern contains glob(7) wildcard characters.
bool has_glob_chars(const std::string& pattern);

}  // namespace tandem::config
