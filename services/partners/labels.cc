#include "partners/labels.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

std::string CollegeLabel(v1::CopilCollege college) {
  switch (college) {
    case v1::COLLEGE_CAF:
      return "Caf";
    case v1::COLLEGE_AGGLOMERATION:
      return "agglomération";
    case v1::COLLEGE_COMMUNES:
      return "communes";
    case v1::COLLEGE_DEPARTEMENT:
      return "Département";
    case v1::COLLEGE_STATE:
      return "État";
    case v1::COLLEGE_CONSULTATIVE:
      return "consultatif";
    default:
      return "inconnu";
  }
}

}  // namespace ctg::partners
