// A small, seedable random source (SplitMix64). Injected wherever the core
// needs randomness (backoff jitter), so tests are repeatable.
//
// Thread contract: not synchronised; one owner.
#pragma once

#include <cstdint>

namespace sd {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}

  // Returns the next 64 random bits.
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Returns a value uniformly distributed in [0, bound); 0 when bound == 0.
  uint64_t below(uint64_t bound) { return bound == 0 ? 0 : next() % bound; }

  // Returns a double uniformly distributed in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

}  // namespace sd
