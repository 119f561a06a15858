#pragma once

#include <string>

#include "ctg/reporting/v1/reporting.pb.h"

namespace ctg::reporting {

// A small report built by hand (one party, one axis, one action whose title needs escaping, one
// indicator, one exchange, one AO collectivity with a facility), for the renderers' tests.
v1::Report SampleReport();

// How many times `needle` occurs in `text`.
size_t Count(const std::string& text, const std::string& needle);

}  // namespace ctg::reporting
