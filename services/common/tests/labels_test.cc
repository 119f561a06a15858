#include "common/labels.h"

#include <gtest/gtest.h>

#include <set>

#include "ctg/action_plan/v1/action_plan.pb.h"
#include "ctg/api/v1/access.pb.h"
#include "ctg/consents/v1/consents.pb.h"
#include "ctg/indicators/v1/indicators.pb.h"
#include "ctg/partners/v1/partners.pb.h"
#include "ctg/reporting/v1/reporting.pb.h"

namespace ctg {
namespace {

namespace av1 = ::ctg::action_plan::v1;
namespace cv1 = ::ctg::consents::v1;
namespace iv1 = ::ctg::indicators::v1;
namespace pv1 = ::ctg::partners::v1;
namespace rv1 = ::ctg::reporting::v1;

TEST(EnumLabel, ReadsTheProtosLabelOfAValue) {
  EXPECT_EQ(EnumLabel(pv1::OrganisationKind_descriptor(), pv1::EPCI), "Intercommunalité (EPCI)");
  EXPECT_EQ(EnumLabel(pv1::CopilCollege_descriptor(), pv1::COLLEGE_STATE), "État");
  // The UNSPECIFIED zero is never shown; an unknown number has no label.
  EXPECT_EQ(EnumLabel(pv1::OrganisationKind_descriptor(), 0), "");
  EXPECT_EQ(EnumLabel(pv1::OrganisationKind_descriptor(), 999), "");
}

TEST(EnumLabel, ByNameAsTheReportsCarryThem) {
  EXPECT_EQ(EnumLabelOfName(pv1::OrganisationKind_descriptor(), "CAF"),
            "Caisse d'allocations familiales");
  EXPECT_EQ(EnumLabelOfName(pv1::OrganisationKind_descriptor(), "ORGANISATION_KIND_UNSPECIFIED"),
            "");
  EXPECT_EQ(EnumLabelOfName(pv1::OrganisationKind_descriptor(), "UNKNOWN_KIND"), "UNKNOWN_KIND");
}

TEST(EnumLabel, ValueOfALabelTypedBackIgnoresCaseAndSpaces) {
  EXPECT_EQ(EnumValueOfLabel(pv1::OrganisationKind_descriptor(), "  commune \t"), pv1::COMMUNE);
  EXPECT_EQ(EnumValueOfLabel(pv1::OrganisationKind_descriptor(), "COMMUNE"), pv1::COMMUNE);
  EXPECT_EQ(EnumValueOfLabel(pv1::OrganisationKind_descriptor(), "Communes"), std::nullopt);
  EXPECT_EQ(EnumValueOfLabel(pv1::OrganisationKind_descriptor(), ""), std::nullopt);
}

// Checks `type`: an enum that labels one value labels them all (but its zero), each with its
// own words.
void ExpectLabelledThroughout(const google::protobuf::EnumDescriptor* type) {
  bool labelled = false;
  for (int i = 1; i < type->value_count(); ++i) {
    labelled = labelled || type->value(i)->options().HasExtension(api::v1::label);
  }
  if (!labelled) return;
  std::set<std::string> seen;
  for (int i = 1; i < type->value_count(); ++i) {
    const auto* value = type->value(i);
    EXPECT_TRUE(value->options().HasExtension(api::v1::label)) << value->full_name();
    EXPECT_TRUE(seen.insert(EnumLabel(type, value->number())).second) << value->full_name();
  }
}

TEST(EnumLabel, EveryValueOfALabelledEnumOfEveryApiHasOneAndNoTwoAreAlike) {
  int labelled_enums = 0;
  for (const auto* file :
       {pv1::OrganisationKind_descriptor()->file(), av1::ActionStatus_descriptor()->file(),
        iv1::QualityFlagKind_descriptor()->file(), cv1::ExchangeState_descriptor()->file(),
        rv1::ReportKind_descriptor()->file()}) {
    for (int e = 0; e < file->enum_type_count(); ++e) ExpectLabelledThroughout(file->enum_type(e));
    for (int m = 0; m < file->message_type_count(); ++m) {
      for (int e = 0; e < file->message_type(m)->enum_type_count(); ++e) {
        ExpectLabelledThroughout(file->message_type(m)->enum_type(e));
      }
    }
  }
  for (const auto* type : {av1::ActionStatus_descriptor(), av1::InterventionField_descriptor(),
                           cv1::Step_descriptor(), rv1::ReportJob_State_descriptor()}) {
    labelled_enums += type->value(1)->options().HasExtension(api::v1::label);
  }
  EXPECT_EQ(labelled_enums, 4);
}

}  // namespace
}  // namespace ctg
