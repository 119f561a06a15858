#pragma once

#include <string>
#include <string_view>

#include "common/errors.h"
#include "ctg/partners/v1/partners.pb.h"

namespace ctg::partners {

// True for a SIREN: 9 digits whose Luhn checksum is valid.
bool IsValidSiren(std::string_view siren);

// True for an INSEE commune code: two digits (or 2A/2B for Corsica) then three digits.
bool IsValidInseeCode(std::string_view code);

// True for a département code: two digits, 2A/2B (Corsica) or 971-978 (overseas).
bool IsValidDepartement(std::string_view code);

// The département of an INSEE commune code ("47157" -> "47", "2A004" -> "2A",
// "97411" -> "974"); "" for a code that is not valid.
std::string DepartementOfInsee(std::string_view insee_code);

// Fills what the registry derives: a commune's département from its INSEE code.
void DeriveOrganisationFields(::ctg::partners::v1::Organisation& organisation);

// Checks the caller-settable fields of an organisation (kind, names, identifiers, populations),
// recording violations under `prefix` ("organisation."). References to other organisations are
// checked against the database by the service.
void ValidateOrganisation(const ::ctg::partners::v1::Organisation& organisation,
                          const std::string& prefix, Violations& violations);

// Checks a representative's own fields (names, title, mandate dates) under `prefix`.
void ValidateRepresentative(const ::ctg::partners::v1::Representative& representative,
                            const std::string& prefix, Violations& violations);

}  // namespace ctg::partners
