#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "reporting/report_store.h"

namespace ctg::reporting {

// The outbox could not be written (full, read-only, missing): nothing was placed in it.
class OutboxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Places a package in `outbox`: the directory `name` holding `files` and `manifest.json`, all or
// nothing. Everything is first written under a temporary name, each file synced, then the
// directory renamed into place and the outbox synced, so a reader (or a crash) never finds half
// a package. Returns false, writing nothing, when a package `name` is there already (it was sent).
bool PlacePackage(const std::string& outbox, const std::string& name,
                  const std::vector<ArtefactFile>& files, const std::string& manifest);

}  // namespace ctg::reporting
