#include "common/clock.h"

namespace ctg {

Clock SystemClock() {
  return [] { return std::chrono::system_clock::now(); };
}

Clock FixedClock(std::chrono::system_clock::time_point at) {
  return [at] { return at; };
}

}  // namespace ctg
