#pragma once

#include <google/protobuf/descriptor.h>

#include <optional>
#include <string>
#include <string_view>

// The French labels of enum values, declared once in the protos with the (ctg.api.v1.label)
// option, so the services, the bilans, the exports and the console all say the same words.
namespace ctg {

// The label of value `number` of `type`; the value's name when it declares none, "" when `type`
// has no such value (an UNSPECIFIED zero declares none: it is never shown).
std::string EnumLabel(const google::protobuf::EnumDescriptor* type, int number);

// The label of the value named `name` ("IN_PROGRESS"), as the reports' JSON carries them; ""
// for the zero, and `name` itself when `type` has no such value (an enum newer than this binary).
std::string EnumLabelOfName(const google::protobuf::EnumDescriptor* type, std::string_view name);

// The value of `type` whose label is `label`, compared without case (ASCII) and surrounding
// spaces, as people type them back in a spreadsheet; nullopt when none is.
std::optional<int> EnumValueOfLabel(const google::protobuf::EnumDescriptor* type,
                                    std::string_view label);

}  // namespace ctg
