#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "ctg/consents/v1/consents.pb.h"

namespace ctg::consents {

namespace v1 = ::ctg::consents::v1;

// The GDPR art. 30 register of one controller as far as CTG exchanges create processings
// (convention art. 9: each controller adds the processing an exchange creates to its register),
// in the layout of the CNIL's model register, in French.

// One processing of the register: an approved exchange the controller is party to.
struct RegisterEntry {
  v1::ExchangeRequest request;
  // True when the controller receives the data (the exchange creates its processing); false when
  // it holds them (the exchange adds a recipient to its own processing).
  bool receives = false;
  std::string counterpart;  // the other organisation's official name
};

struct Register {
  std::string organisation;       // official name of the controller
  std::string organisation_name;  // "organisations/{uuid}"
  std::string generated_at;       // "2026-12-01"
  std::vector<RegisterEntry> entries;
};

// The fields of one processing in the CNIL model's order, as (French label, value).
std::vector<std::pair<std::string, std::string>> RegisterFields(const RegisterEntry& entry);

// The register as a CSV file (one line per processing, the fields as columns), JSON, or an XLSX
// workbook (a "Registre" sheet with the organisation, its DPO and the list of processings, then
// one sheet per processing), created at `created` (the call's clock).
std::string RegisterCsv(const Register& reg);
std::string RegisterJson(const Register& reg);
std::string RegisterXlsx(const Register& reg, std::chrono::system_clock::time_point created);

}  // namespace ctg::consents
