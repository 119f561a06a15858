#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ctg::gateway {

// One load run: `concurrency` closed-loop callers, each sending the next unary call as soon as
// the previous one completes, for `duration`.
struct LoadSpec {
  std::shared_ptr<grpc::Channel> channel;
  std::string method;   // full path, "/pkg.Service/Method"
  std::string request;  // serialized request message (empty = all defaults)
  std::string token;    // bearer token; empty sends none
  int concurrency = 1;
  std::chrono::milliseconds duration{5000};
  std::chrono::milliseconds warmup{500};  // calls in this window are not measured
  // Stops after this many calls in all (0: only the duration bounds the run).
  int64_t max_calls = 0;
  // When set, the request of each call of caller `caller` (0..concurrency-1) instead of
  // `request`, and the response of each successful call handed back (e.g. to send the etag it
  // returned with the next update). Called on the caller's completion thread.
  std::function<std::string(int caller)> make_request;
  std::function<void(int caller, const std::string& response)> take_response;
};

// What a run measured.
struct LoadResult {
  int64_t calls = 0;
  int64_t errors = 0;
  std::string first_error;
  double seconds = 0;
  double qps = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0;
};

// Runs the load and blocks until it is over.
LoadResult RunLoad(const LoadSpec& spec);

// Runs `concurrency` closed-loop callers of `method` with `request` against `target` over a
// fresh plaintext connection (not shared with any earlier run) for `seconds`: the benchmarks'
// one-liner.
LoadResult RunFor(const std::string& target, const std::string& method, const std::string& request,
                  const std::string& token, int concurrency, int seconds);

// One line: "qps=... p50=...us p90=... p99=... max=... errors=...".
std::string FormatLoadResult(const LoadResult& r);

}  // namespace ctg::gateway
