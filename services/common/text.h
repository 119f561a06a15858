#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

// Text helpers without dependencies (the fuzzers build them alone).
namespace ctg {

// `s` without its leading and trailing spaces, tabs, carriage returns and line feeds.
std::string_view TrimSpace(std::string_view s);
// The number of code points of `s` when it is well-formed UTF-8 (no overlong forms, surrogates
// or code points past U+10FFFF); nullopt otherwise.
std::optional<size_t> Utf8Length(std::string_view s);
// Whether `s` is well-formed UTF-8.
inline bool IsValidUtf8(std::string_view s) { return Utf8Length(s).has_value(); }

}  // namespace ctg
