// disk-options / net-options (DRBD's): a running resource's option changed without editing the file. The
// change is applied to the resource as the daemon runs it; the next `adjust` brings back what the file says,
// as with DRBD.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/keywords.h"

namespace tandem::config {

// Sets keyword `key` of `section` (Net, Disk or Options) in `res`, as if the file said `key values...;`
// (`values` empty for a flag). Validated and normalised as the parser does; the net section's interpreted
// fields follow. False with a message naming the keyword and the section when it is not one of that section's
// or its value is not valid; `res` is unchanged then.
// `normalised` (may be null) receives the value as stored.
bool set_resource_option(ResourceConfig* res, SectionKind section, std::string_view key,
                         const std::vector<std::string>& values, std::string* error,
                         std::string* normalised = nullptr);

}  // namespace tandem::config
