// C++ allocation paths: new/delete, new[]/delete[], std::string and std::vector growth (all
// freed), and exact leaks from named functions:
//   make_leaked_widget        new Widget             48 B in 1
//   make_leaked_widget_array  new Widget[3]          152 B in 1 (3 * 48 + the 8-byte array cookie)
//   make_leaked_nothrow       new (nothrow) char[77] 77 B in 1
//   make_leaked_aligned       new Aligned (alignas 64, 128 B, aligned operator new) 128 B in 1
//   make_leaked_vector        new std::vector<int>(100): 24 B object + 400 B buffer, 424 B in 2
//                             (the buffer through std::allocator, inlined into the function)
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#define NOINLINE __attribute__((noinline))

struct Widget {
    long fields[5];
    Widget() { std::memset(fields, 1, sizeof fields); }
    virtual ~Widget() {}
};
static_assert(sizeof(Widget) == 48, "Widget is 48 bytes on x86-64");

struct alignas(64) Aligned {
    char bytes[128];
};
static_assert(sizeof(Aligned) == 128, "Aligned is 128 bytes");

static void *volatile sink[16];
static volatile long checksum;

NOINLINE Widget *make_leaked_widget() { return new Widget; }
NOINLINE Widget *make_leaked_widget_array() { return new Widget[3]; }
NOINLINE char *make_leaked_nothrow() { return new (std::nothrow) char[77]; }
NOINLINE Aligned *make_leaked_aligned() { return new Aligned; }
NOINLINE std::vector<int> *make_leaked_vector() { return new std::vector<int>(100); }

NOINLINE void churn_new_delete()
{
    for (int i = 0; i < 2000; i++) {
        int *x = new int(i);
        sink[0] = x;
        checksum += *x;
        delete x;
        int *a = new int[100 + i % 50];
        sink[1] = a;
        a[0] = i;
        checksum += a[0];
        delete[] a;
        Widget *w = new Widget;
        sink[2] = w;
        delete w;
        Widget *ws = new Widget[3];
        sink[3] = ws;
        delete[] ws;
        Aligned *al = new Aligned;
        sink[4] = al;
        delete al;
    }
}

NOINLINE void churn_string()
{
    for (int round = 0; round < 20; round++) {
        std::string s;
        for (int i = 0; i < 5000; i++)
            s += static_cast<char>('a' + i % 26);
        std::string t = s + s;
        checksum += static_cast<long>(t.size());
    }
}

NOINLINE void churn_vector()
{
    for (int round = 0; round < 20; round++) {
        std::vector<int> v;
        for (int i = 0; i < 100000; i++)
            v.push_back(i);
        std::vector<std::string> names;
        for (int i = 0; i < 1000; i++)
            names.push_back(std::string(40, static_cast<char>('a' + i % 26)));
        checksum += static_cast<long>(v.size() + names.size());
    }
}

int main()
{
    churn_new_delete();
    churn_string();
    churn_vector();
    sink[8] = make_leaked_widget();
    sink[9] = make_leaked_widget_array();
    sink[10] = make_leaked_nothrow();
    sink[11] = make_leaked_aligned();
    sink[12] = make_leaked_vector();
    std::printf("checksum %ld\n", static_cast<long>(checksum));
    return 0;
}
