// Exceptions thrown and caught through several frames, with destructors running during
// unwinding, rethrows, nested handlers, and (when argv[1] names it) exceptions thrown inside a
// dlopen'd C++ shared object (cxx_throw_plugin.cc) and caught here. Prints what it caught;
// the output must be the same with and without the shim.
#include <dlfcn.h>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#define NOINLINE __attribute__((noinline))

static int destroyed;

struct Guard {
    std::string name;
    explicit Guard(std::string n) : name(std::move(n)) {}
    ~Guard() { destroyed++; }
};

struct AppError : std::runtime_error {
    int code;
    AppError(const std::string &what, int c) : std::runtime_error(what), code(c) {}
};

NOINLINE void level3(int i)
{
    Guard g("level3");
    std::vector<int> v(static_cast<size_t>(i % 7 + 1), i);
    if (i % 3 == 0)
        throw AppError("level3 failed at " + std::to_string(i), i);
    if (i % 3 == 1)
        throw std::out_of_range("index " + std::to_string(i));
    throw i;
}

NOINLINE void level2(int i)
{
    Guard g("level2");
    try {
        level3(i);
    } catch (const std::out_of_range &) {
        throw; // rethrow through level1
    }
}

NOINLINE void level1(int i)
{
    Guard g("level1");
    std::string s(100, 'x');
    level2(i);
}

int main(int argc, char **argv)
{
    long app = 0, range = 0, ints = 0, codes = 0;
    for (int i = 0; i < 3000; i++) {
        try {
            level1(i);
        } catch (const AppError &e) {
            app++;
            codes += e.code;
        } catch (const std::exception &e) {
            range++;
        } catch (int v) {
            ints += v;
        }
    }
    std::printf("app=%ld range=%ld ints=%ld codes=%ld destroyed=%d\n", app, range, ints, codes,
                destroyed);

    if (argc > 1) {
        void *h = dlopen(argv[1], RTLD_NOW);
        if (!h) {
            std::printf("dlopen failed: %s\n", dlerror());
            return 1;
        }
        auto thrower = reinterpret_cast<int (*)(int)>(dlsym(h, "plugin_throw"));
        if (!thrower) {
            std::printf("no plugin_throw\n");
            return 1;
        }
        long caught = 0, returned = 0;
        std::string last;
        for (int i = 0; i < 2000; i++) {
            try {
                returned += thrower(i);
            } catch (const std::exception &e) {
                caught++;
                last = e.what();
            }
        }
        std::printf("plugin: caught=%ld returned=%ld last=%s\n", caught, returned, last.c_str());
        dlclose(h);
    }
    return 0;
}
