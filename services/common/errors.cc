#include "common/errors.h"

#include <pqxx/except>

#include "google/rpc/code.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ctg {

ValidationError::ValidationError(std::vector<FieldViolation> violations)
    : std::runtime_error("invalid request"), violations_(std::move(violations)) {}

ValidationError::ValidationError(std::string field, std::string description)
    : ValidationError(std::vector<FieldViolation>{{std::move(field), std::move(description)}}) {}

void Violations::Add(std::string field, std::string description) {
  violations_.push_back({std::move(field), std::move(description)});
}

std::vector<std::string> Violations::fields() const {
  std::vector<std::string> out;
  for (const auto& v : violations_) out.push_back(v.field);
  return out;
}

void Violations::ThrowIfAny() const {
  if (!violations_.empty()) throw ValidationError(violations_);
}

grpc::Status InvalidArgumentStatus(const std::vector<FieldViolation>& violations) {
  // The details travel in a trailer that every client must accept with gRPC's default 8 KiB
  // metadata limit: at most kMaxReportedViolations violations and kMaxDetailsBytes of them, the
  // count of the others in an ErrorInfo; the message stays one short line.
  constexpr size_t kMaxReportedViolations = 50;
  constexpr size_t kMaxDetailsBytes = 4096;
  google::rpc::BadRequest bad_request;
  size_t reported = 0;
  for (const auto& v : violations) {
    if (reported == kMaxReportedViolations) break;
    google::rpc::BadRequest::FieldViolation fv;
    fv.set_field(v.field.substr(0, 200));
    fv.set_description(v.description.substr(0, 500));
    if (bad_request.ByteSizeLong() + fv.ByteSizeLong() + 8 > kMaxDetailsBytes) break;
    *bad_request.add_field_violations() = std::move(fv);
    ++reported;
  }
  std::string message;
  if (violations.size() == 1) {
    message = violations[0].field + ": " + violations[0].description.substr(0, 300);
  } else {
    message = std::to_string(violations.size()) + " invalid fields: ";
    for (size_t i = 0; i < violations.size() && i < 3; ++i) {
      message += (i > 0 ? ", " : "") + violations[i].field.substr(0, 100);
    }
    if (violations.size() > 3) message += ", ...";
    message += " (see the field violations)";
  }
  google::rpc::Status details;
  details.set_code(google::rpc::INVALID_ARGUMENT);
  details.set_message(message);
  details.add_details()->PackFrom(bad_request);
  if (reported < violations.size()) {
    google::rpc::ErrorInfo info;
    info.set_reason("TOO_MANY_VIOLATIONS");
    info.set_domain("ctg");
    (*info.mutable_metadata())["reported_violations"] = std::to_string(reported);
    (*info.mutable_metadata())["total_violations"] = std::to_string(violations.size());
    details.add_details()->PackFrom(info);
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message, details.SerializeAsString());
}

namespace {

// SQLSTATE classes of libpqxx errors that are not mapped to their own exception type.
bool IsConnectionState(const std::string& sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

}  // namespace

grpc::Status ToGrpcStatus(std::exception_ptr error, std::string* log_detail) {
  try {
    std::rethrow_exception(error);
  } catch (const ValidationError& e) {
    *log_detail = e.what();
    return InvalidArgumentStatus(e.violations());
  } catch (const NotFoundError& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::NOT_FOUND, e.what());
  } catch (const FailedPreconditionError& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, e.what());
  } catch (const StaleEtagError& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::ABORTED, e.what());
  } catch (const AlreadyExistsError& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, e.what());
  } catch (const PermissionDeniedError& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, e.what());
  } catch (const UnavailableError& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, e.what());
  } catch (const CancelledError& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::CANCELLED, e.what());
  } catch (const UnauthenticatedError& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, e.what());
  } catch (const pqxx::unique_violation& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                        "a resource with the same unique key already exists");
  } catch (const pqxx::serialization_failure& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::ABORTED, "concurrent modification; retry");
  } catch (const pqxx::deadlock_detected& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::ABORTED, "concurrent modification; retry");
  } catch (const pqxx::broken_connection& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "database unavailable; retry later");
  } catch (const pqxx::in_doubt_error& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "database connection lost during commit; the outcome is unknown");
  } catch (const pqxx::sql_error& e) {
    *log_detail = std::string(e.what()) + " [sqlstate " + e.sqlstate() + "]";
    if (IsConnectionState(e.sqlstate())) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "database unavailable; retry later");
    }
    if (e.sqlstate() == "23503" || e.sqlstate() == "23514") {
      // Foreign key / check violations are caught by validation first; one that still reaches
      // the database is a race with a concurrent delete or a missed rule.
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "the request conflicts with the current state of related resources");
    }
    return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
  } catch (const std::exception& e) {
    *log_detail = e.what();
    return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
  } catch (...) {
    *log_detail = "unknown exception";
    return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
  }
}

}  // namespace ctg
