#include "config/resource_options.h"

#include <fmt/format.h>

namespace tandem::config {

bool set_resource_option(ResourceConfig* res, SectionKind section, std::string_view key,
                         const std::vector<std::string>& values, std::string* error,
                         std::string* normalised_out) {
  OptionList* list = section == SectionKind::Net       ? &res->net.options
                     : section == SectionKind::Disk    ? &res->disk.options
                     : section == SectionKind::Options ? &res->options.options
                                                       : nullptr;
  if (!list) {
    *error = fmt::format("options of the {} section cannot be set this way", section_name(section));
    return false;
  }
  const KeywordSpec* spec = find_keyword(section, key);
  if (!spec) {
    std::string hint;
    for (SectionKind s : sections_with_keyword(key)) hint += fmt::format(" (it belongs in the {} section)", section_name(s));
    *error = fmt::format("unknown keyword '{}' in {} section{}", key, section_name(section), hint);
    return false;
  }
  std::string normalised, why;
  if (!validate_value(*spec, values, &normalised, &why)) {
    *error = why;
    return false;
  }
  bool replaced = false;
  for (auto& [k, v] : *list)
    if (!replaced && k == key) {
      v = normalised;
      replaced = true;
    }
  if (!replaced) list->emplace_back(std::string(key), normalised);
  if (section == SectionKind::Net) res->net.interpret();
  if (normalised_out) *normalised_out = normalised;
  return true;
}

}  // namespace tandem::config
