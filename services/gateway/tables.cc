#include "gateway/tables.h"

#include <sstream>

#include "common/config.h"
#include "common/text.h"

namespace ctg::gateway {
namespace {

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    auto item = TrimSpace(s.substr(start, comma - start));
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

bool ValidAddress(std::string_view a) {
  const auto colon = a.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == a.size()) return false;
  if (a.size() - colon - 1 > 5) return false;
  int port = 0;
  for (char c : a.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  return port > 0 && port <= 65535;
}

// Calls `f(line_number, key, value)` for each non-empty, non-comment "key = value" line.
template <typename F>
void ForEachAssignment(std::string_view text, const char* file, F f) {
  int line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = TrimSpace(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      throw ConfigError(std::string(file) + " line " + std::to_string(line_number) +
                        ": expected '<name> = <values>'");
    }
    f(line_number, TrimSpace(line.substr(0, eq)), TrimSpace(line.substr(eq + 1)));
  }
}

std::string Where(const char* file, int line) {
  return std::string(file) + " line " + std::to_string(line) + ": ";
}

}  // namespace

bool SplitMethodPath(std::string_view path, std::string* service, std::string* method) {
  if (path.size() < 4 || path[0] != '/') return false;
  const auto slash = path.find('/', 1);
  if (slash == std::string_view::npos || slash == 1 || slash + 1 == path.size()) return false;
  if (path.find('/', slash + 1) != std::string_view::npos) return false;
  service->assign(path.substr(1, slash - 1));
  method->assign(path.substr(slash + 1));
  return true;
}

std::vector<ServiceRoute> ParseRoutes(std::string_view text) {
  constexpr const char* kFile = "routes";
  std::vector<ServiceRoute> routes;
  ForEachAssignment(text, kFile, [&](int line, std::string_view key, std::string_view value) {
    if (key.empty() || key.find('.') == std::string_view::npos) {
      throw ConfigError(Where(kFile, line) + "expected a fully qualified service name");
    }
    for (char c : key) {
      if (!IsNameChar(c)) throw ConfigError(Where(kFile, line) + "bad service name");
    }
    for (const auto& r : routes) {
      if (r.service == key) throw ConfigError(Where(kFile, line) + "service routed twice");
    }
    ServiceRoute route{std::string(key), SplitList(value)};
    if (route.backends.empty()) throw ConfigError(Where(kFile, line) + "no backend address");
    for (const auto& a : route.backends) {
      if (!ValidAddress(a)) {
        throw ConfigError(Where(kFile, line) + "backend '" + a + "' is not host:port");
      }
    }
    routes.push_back(std::move(route));
  });
  return routes;
}

}  // namespace ctg::gateway
