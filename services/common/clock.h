#pragma once

#include <chrono>
#include <functional>

namespace ctg {

// The wall clock a service reads "now" from. Injected so that no rule and no test depends on
// today's date: the runtime reads it once per call (CallContext::now), tests pass a fixed one.
using Clock = std::function<std::chrono::system_clock::time_point()>;

// The real wall clock.
Clock SystemClock();

// A clock stopped at `at` (tests).
Clock FixedClock(std::chrono::system_clock::time_point at);

}  // namespace ctg
