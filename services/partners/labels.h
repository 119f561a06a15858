#pragma once

#include <string>

#include "ctg/partners/v1/partners.pb.h"

// French labels of the partners API's enums, for every service that shows them to people (the
// partners service's own messages, the reports).
namespace ctg::partners {

// The French label of a COPIL college ("Caf", "agglomération", "communes", "Département",
// "État", "consultatif").
std::string CollegeLabel(::ctg::partners::v1::CopilCollege college);

}  // namespace ctg::partners
