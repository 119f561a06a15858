#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/service_client.h"
#include "ctg/partners/v1/partners.grpc.pb.h"

namespace ctg::partners {

// What another service needs to know about a convention, read from the partners service.
struct ConventionFacts {
  std::string name;  // "conventions/{uuid}"
  CivilDate start;
  CivilDate end;
  std::set<std::string> parties;         // "organisations/{uuid}"
  std::set<std::string> cafs;            // the parties that are Cafs
  std::set<std::string> collectivities;  // the parties that are communes or EPCIs
  std::string secretariat;               // the organisation holding the COPIL's secretariat
  std::string departement;               // the convention's département ("47")
};

// The facts of a convention read from the partners API (what GetConvention below returns, for
// a caller that has the whole Convention already).
ConventionFacts FactsOf(const ::ctg::partners::v1::Convention& convention);

// The partners service as seen from the services that depend on it (action plan, reporting):
// conventions and organisations are checked through its API, never its tables.
class PartnersClient {
 public:
  // Calls the partners service on `channel` as `identity` (which must outlive the client).
  PartnersClient(std::shared_ptr<grpc::Channel> channel, ServiceIdentity& identity);

  // The convention's period and parties. Throws NotFoundError (naming `field`) when it does
  // not exist, UnavailableError when the partners service cannot answer.
  ConventionFacts GetConvention(const std::string& name, const std::string& field);
  // Throws NotFoundError naming the field of the first organisation that does not exist.
  void RequireOrganisations(const std::vector<std::pair<std::string, std::string>>& name_fields);
  // The département of an organisation ("" when it has none or cannot be read now).
  std::string DepartementOf(const std::string& organisation);
  // The AO collectivities of `convention` at `date`: who exercises the petite enfance
  // competences of each of its communes and EPCIs (GetAoCompetences), each once. Throws
  // FailedPreconditionError when the registry cannot say (a commune without a population).
  std::set<std::string> AoCollectivities(const ConventionFacts& convention, const CivilDate& date);
  // The AO competences `organisation` holds at `date`.
  ::ctg::partners::v1::AoCompetences AoCompetencesOf(const std::string& organisation,
                                                     const CivilDate& date);
  // Display names of organisations ("organisations/{uuid}" -> official name); a name that cannot
  // be resolved maps to itself.
  std::map<std::string, std::string> DisplayNames(const std::set<std::string>& names);

 private:
  // Conventions and organisation names are read on almost every call and change rarely: they
  // are kept for a few seconds, so a change (e.g. a party added to a draft) shows within kTtl.
  static constexpr std::chrono::seconds kTtl{5};
  template <typename T>
  struct Cached {
    T value;
    std::chrono::steady_clock::time_point at;
  };
  ::ctg::partners::v1::Organisation FetchOrganisation(const std::string& name,
                                                      const std::string& field);

  std::unique_ptr<::ctg::partners::v1::PartnerService::Stub> stub_;
  ServiceIdentity& identity_;
  std::mutex mu_;
  std::map<std::string, Cached<ConventionFacts>> conventions_;
  std::map<std::string, Cached<std::string>> organisation_names_;
  std::map<std::string, Cached<std::string>> departements_;
};

}  // namespace ctg::partners
