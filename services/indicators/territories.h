#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/service_client.h"
#include "ctg/indicators/v1/indicators.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"

namespace ctg::indicators {

namespace v1 = ::ctg::indicators::v1;

// A territory values are recorded for: a commune (INSEE code), an EPCI (SIREN) or a département
// (its code), as the partners registry knows it.
struct Territory {
  std::string code;
  v1::TerritorialLevel level = v1::TERRITORIAL_LEVEL_UNSPECIFIED;
  std::string organisation;  // "organisations/{uuid}" ("" for a département without one)
  std::string display_name;
  std::string epci;         // a commune: its EPCI's SIREN ("" when none)
  std::string departement;  // "47"
  double population = 0;    // latest legal population municipale (communes)
};

// A convention as the indicators service needs it: who acts for it and which territories it
// covers (its territory and, for an EPCI, the member communes).
struct ConventionCoverage {
  std::string name;                   // "conventions/{uuid}"
  std::set<std::string> territories;  // territory codes
  std::set<std::string> parties;      // "organisations/{uuid}"
  std::set<std::string> cafs;
  std::string secretariat;
  std::string departement;
};

// One snapshot of the registry: territories by code, EPCI membership, conventions, and each
// organisation's territory and département. Immutable once built, shared by concurrent calls.
class TerritoryDirectory {
 public:
  // Builds the snapshot from the registry's organisations and conventions.
  TerritoryDirectory(const std::vector<::ctg::partners::v1::Organisation>& organisations,
                     const std::vector<::ctg::partners::v1::Convention>& conventions);

  // The territory with this code, or null.
  const Territory* Find(const std::string& code) const;
  // The member communes of the EPCI `epci_code`, in code order (a commune: itself).
  std::vector<const Territory*> CommunesOf(const std::string& code) const;
  const std::vector<ConventionCoverage>& conventions() const { return conventions_; }
  // The territory code of an organisation ("" when it is not a territory).
  std::string TerritoryOf(const std::string& organisation) const;
  // The département of an organisation ("" when unknown).
  std::string DepartementOf(const std::string& organisation) const;

 private:
  std::map<std::string, Territory> territories_;
  std::map<std::string, std::vector<std::string>> members_;  // EPCI code -> commune codes
  std::vector<ConventionCoverage> conventions_;
  std::map<std::string, std::string> territory_of_;    // organisation -> code
  std::map<std::string, std::string> departement_of_;  // organisation -> département
};

// The registry, read through the partners API (never its tables) as this service's identity.
// The snapshot is kept for a few seconds: the registry changes rarely, and every call needs it.
class PartnersDirectory {
 public:
  // `ttl`: how long a snapshot is used before it is read again (a change of the registry or of a
  // convention shows within it).
  PartnersDirectory(std::shared_ptr<grpc::Channel> channel, ServiceIdentity& identity,
                    std::chrono::milliseconds ttl);

  // The current snapshot, fetched again when older than the ttl. Must be called without a
  // database connection held. Throws UnavailableError when the partners service cannot answer
  // and no snapshot was ever read.
  std::shared_ptr<const TerritoryDirectory> Get();

 private:
  std::shared_ptr<const TerritoryDirectory> Fetch();

  std::unique_ptr<::ctg::partners::v1::PartnerService::Stub> stub_;
  ServiceIdentity& identity_;
  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::shared_ptr<const TerritoryDirectory> snapshot_;
  std::chrono::steady_clock::time_point fetched_at_{};
};

}  // namespace ctg::indicators
