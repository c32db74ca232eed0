// duktape_bench: times Debian's duktape on edw's per-doc map and filter round trip.
#include "bench_common.hpp"

#include <duktape.h>

namespace {

[[noreturn]] void fail(duk_context* ctx, const char* what)
{
    std::fprintf(stderr, "duktape: %s: %s\n", what, duk_safe_to_string(ctx, -1));
    std::exit(1);
}

// Compiles a design function as edw-js does and stores it in the global `name`.
void compile_function(duk_context* ctx, const std::string& source, const char* name)
{
    const std::string wrapped = bench::wrap_function(source);
    duk_push_string(ctx, name);
    if (duk_pcompile_lstring_filename(ctx, DUK_COMPILE_EVAL, wrapped.data(), wrapped.size()) != 0 ||
        duk_pcall(ctx, 0) != DUK_EXEC_SUCCESS) {
        fail(ctx, name);
    }
    if (!duk_is_function(ctx, -1)) {
        fail(ctx, "not a function expression");
    }
    duk_put_global_string(ctx, name);
}

// Calls the driver function at `fun` once per doc, the doc's JSON text in, a value out.
template <typename Take>
bench::Digest each_doc(duk_context* ctx, duk_idx_t fun, const std::vector<std::string>& docs,
                       Take take)
{
    bench::Digest digest;
    for (const auto& doc : docs) {
        duk_dup(ctx, fun);
        duk_push_lstring(ctx, doc.data(), doc.size());
        if (duk_pcall(ctx, 1) != DUK_EXEC_SUCCESS) {
            fail(ctx, "call");
        }
        take(digest);
        duk_pop(ctx);
    }
    return digest;
}

} // namespace

int main(int argc, char** argv)
{
    const bench::Args args = bench::parse_args(argc, argv);
    bench::Report report{};
    report.engine = "duktape";
    report.docs = args.docs;
    report.rss_base_kb = bench::status_kb("VmHWM");

    const double start = bench::now_ms();
    duk_context* ctx = duk_create_heap_default();
    if (ctx == nullptr) {
        std::fprintf(stderr, "duktape: cannot create a heap\n");
        return 1;
    }
    report.startup_ms = bench::now_ms() - start;
    report.rss_startup_kb = bench::status_kb("VmHWM");

    const double compile_start = bench::now_ms();
    if (duk_peval_string(ctx, bench::driver) != 0) {
        fail(ctx, "driver");
    }
    duk_pop(ctx);
    compile_function(ctx, args.map_source, "__map");
    compile_function(ctx, args.filter_source, "__filter");
    report.compile_ms = bench::now_ms() - compile_start;

    const std::vector<std::string> docs = bench::make_docs(args.docs);
    duk_get_global_string(ctx, "__run_map");
    const duk_idx_t run_map = duk_get_top_index(ctx);
    duk_get_global_string(ctx, "__run_filter");
    const duk_idx_t run_filter = duk_get_top_index(ctx);

    // The string is copied out, as edw-js copies each answer into its output buffer.
    std::string out;
    report.map = bench::first_and_best([&] {
        return each_doc(ctx, run_map, docs, [&](bench::Digest& digest) {
            duk_size_t size = 0;
            const char* text = duk_get_lstring(ctx, -1, &size);
            out.assign(text, size);
            digest.add(out);
            digest.count_rows(out);
        });
    });
    report.filter = bench::first_and_best([&] {
        return each_doc(ctx, run_filter, docs, [&](bench::Digest& digest) {
            const bool passed = duk_to_boolean(ctx, -1) != 0;
            digest.add(passed ? "1" : "0");
            digest.rows += passed ? 1 : 0;
        });
    });
    report.rss_end_kb = bench::status_kb("VmHWM");

#if defined(DUK_USE_EXEC_TIMEOUT_CHECK)
    report.interrupt = "DUK_USE_EXEC_TIMEOUT_CHECK";
#else
    // Debian's duk_config.h leaves it undefined, and it is fixed when the library is built: a
    // runaway function can only be stopped by ending the process (edw-js's SIGALRM timer).
    report.interrupt = "none";
#endif
    report.interrupt_stop_ms = -1;
    bench::print(report);
    duk_destroy_heap(ctx);
    return 0;
}
