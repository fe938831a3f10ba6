// A dlopen'd C++ shared object for cxx_throw.cc: throws its own exception type (derived from
// std::runtime_error) through several of its own frames, every other call.
#include <stdexcept>
#include <string>
#include <vector>

#define NOINLINE __attribute__((noinline))

namespace {
struct PluginError : std::runtime_error {
    explicit PluginError(const std::string &w) : std::runtime_error(w) {}
};

NOINLINE int deep(int i, int depth)
{
    std::vector<std::string> names(3, std::string(32, 'p'));
    if (depth == 0) {
        if (i % 2)
            throw PluginError("plugin error " + std::to_string(i));
        return static_cast<int>(names.size());
    }
    return deep(i, depth - 1) + 1;
}
} // namespace

extern "C" int plugin_throw(int i) { return deep(i, 4); }
