#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "common/api.h"
#include "ctg/partners/v1/partners.pb.h"
#include "partners/organisation_repository.h"

namespace ctg::partners {

// Filters of ListFacilities; empty / zero fields do not filter.
struct FacilityFilter {
  std::string commune_id;
  int kind = 0;
  std::string supporting_ao_id;
};

// Facilities and services supported by AO collectivities (annexe 2) in the partners schema.
// Functions take the caller's transaction: the service layer owns transaction boundaries.
class FacilityRepository {
 public:
  explicit FacilityRepository(pqxx::transaction_base& tx) : tx_(tx) {}

  // The facility with this id; nullopt if none. `version` receives the row version when not
  // null. `for_update` locks the row until the transaction ends (read-modify-write).
  std::optional<::ctg::partners::v1::Facility> Find(const std::string& id,
                                                    int64_t* version = nullptr,
                                                    bool for_update = false);
  // Inserts a facility whose references are validated resource names; returns the new id.
  std::string Insert(const ::ctg::partners::v1::Facility& facility);
  // Overwrites every mutable column, bumping the version.
  void Update(const std::string& id, const ::ctg::partners::v1::Facility& facility);
  // One page of facilities matching `filter`, in creation order.
  Page<::ctg::partners::v1::Facility> List(const FacilityFilter& filter, const PageRequest& page);

 private:
  pqxx::transaction_base& tx_;
};

// "facilities/{id}" for a facility id.
std::string FacilityName(const std::string& id);

}  // namespace ctg::partners
