// RandomId: 128 random bits as hex, from a per-thread generator seeded once.
#include <edw/util/random_id.hpp>

#include <cstdio>
#include <random>

namespace edw {

std::string random_hex_id()
{
    static thread_local std::mt19937_64 random{std::random_device{}()};
    char text[33];
    std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(random()),
                  static_cast<unsigned long long>(random()));
    return text;
}

} // namespace edw
