#include "common/labels.h"

#include "common/text.h"
#include "ctg/api/v1/access.pb.h"

namespace ctg {

namespace {

std::string LabelOf(const google::protobuf::EnumValueDescriptor* value) {
  const auto& options = value->options();
  return options.HasExtension(api::v1::label) ? options.GetExtension(api::v1::label)
                                              : value->name();
}

// Trimmed and lower-cased (ASCII only: an accented capital stays as it is).
std::string Folded(std::string_view text) {
  std::string out(TrimSpace(text));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string EnumLabel(const google::protobuf::EnumDescriptor* type, int number) {
  const auto* value = type->FindValueByNumber(number);
  if (value == nullptr || number == 0) return "";
  return LabelOf(value);
}

std::string EnumLabelOfName(const google::protobuf::EnumDescriptor* type, std::string_view name) {
  const auto* value = type->FindValueByName(std::string(name));
  if (value == nullptr) return std::string(name);
  return value->number() == 0 ? "" : LabelOf(value);
}

std::optional<int> EnumValueOfLabel(const google::protobuf::EnumDescriptor* type,
                                    std::string_view label) {
  const std::string wanted = Folded(label);
  if (wanted.empty()) return std::nullopt;
  for (int i = 0; i < type->value_count(); ++i) {
    const auto* value = type->value(i);
    if (value->number() != 0 && value->options().HasExtension(api::v1::label) &&
        Folded(LabelOf(value)) == wanted) {
      return value->number();
    }
  }
  return std::nullopt;
}

}  // namespace ctg
