#pragma once

#include <grpcpp/support/status.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ctg {

// Domain errors thrown by services and repositories. One central function (ToGrpcStatus) turns
// them, and libpqxx's exceptions, into gRPC statuses, so no handler formats a status by hand and
// no SQL text or stack trace ever reaches a caller.

// One bad field of a request: `field` is the path in the request ("organisation.siren").
struct FieldViolation {
  std::string field;
  std::string description;
};

// INVALID_ARGUMENT with a google.rpc.BadRequest listing every bad field.
class ValidationError : public std::runtime_error {
 public:
  explicit ValidationError(std::vector<FieldViolation> violations);
  // A single bad field.
  ValidationError(std::string field, std::string description);
  const std::vector<FieldViolation>& violations() const { return violations_; }

 private:
  std::vector<FieldViolation> violations_;
};

// Collects field violations while a request is checked, then throws them all at once.
class Violations {
 public:
  // Records that `field` is wrong, with a description a caller can act on.
  void Add(std::string field, std::string description);
  bool empty() const { return violations_.empty(); }
  // The names of the bad fields recorded so far, in order.
  std::vector<std::string> fields() const;
  // Throws ValidationError when any violation was recorded.
  void ThrowIfAny() const;

 private:
  std::vector<FieldViolation> violations_;
};

// NOT_FOUND: the named resource does not exist (or the caller may not know it exists).
class NotFoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// FAILED_PRECONDITION: the request is well formed but the resource's state forbids it.
class FailedPreconditionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ABORTED: the etag sent by the caller no longer matches; re-read and retry.
class StaleEtagError : public std::runtime_error {
 public:
  StaleEtagError()
      : std::runtime_error("the resource was modified since it was read (stale etag)") {}
};

// ALREADY_EXISTS: a unique business key is taken.
class AlreadyExistsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// PERMISSION_DENIED: authenticated, but not allowed to do this to this object.
class PermissionDeniedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// UNAVAILABLE: a dependency (another service) cannot answer now; retrying later may work.
class UnavailableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// CANCELLED: the client went away (or the call broke) before the request was complete; nothing
// of it may be kept.
class CancelledError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// UNAUTHENTICATED: no usable credentials.
class UnauthenticatedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Maps the exception to the gRPC status callers see. Unknown exceptions become INTERNAL with a
// generic message (the detail goes to the log, never to the caller). `log_detail` receives the
// internal description for the log line.
grpc::Status ToGrpcStatus(std::exception_ptr error, std::string* log_detail);

// Builds an INVALID_ARGUMENT status carrying a google.rpc.BadRequest detail: a short message
// (the first fields), and at most 50 violations within 4 KiB so that any client accepts it
// whatever its metadata limit; when some are left out, a google.rpc.ErrorInfo (reason
// TOO_MANY_VIOLATIONS) gives metadata "reported_violations" and "total_violations".
grpc::Status InvalidArgumentStatus(const std::vector<FieldViolation>& violations);

}  // namespace ctg
