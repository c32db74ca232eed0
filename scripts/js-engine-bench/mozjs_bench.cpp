// mozjs_bench: times Debian's SpiderMonkey 102 on edw's per-doc map and filter round trip.
#include "bench_common.hpp"

#include <js/CharacterEncoding.h>
#include <js/CompilationAndEvaluation.h>
#include <js/Conversions.h>
#include <js/Initialization.h>
#include <js/Interrupt.h>
#include <js/SourceText.h>
#include <jsapi.h>

#include <atomic>
#include <thread>

namespace {

const JSClass global_class = {
    "global", JSCLASS_GLOBAL_FLAGS, &JS::DefaultGlobalClassOps, nullptr, nullptr, nullptr};

[[noreturn]] void fail(JSContext* cx, const char* what)
{
    std::string message = "(no exception)";
    JS::RootedValue error(cx);
    if (JS_IsExceptionPending(cx) && JS_GetPendingException(cx, &error)) {
        JS_ClearPendingException(cx);
        JS::RootedString text(cx, JS::ToString(cx, error));
        if (text) {
            message = JS_EncodeStringToUTF8(cx, text).get();
        }
    }
    std::fprintf(stderr, "mozjs: %s: %s\n", what, message.c_str());
    std::exit(1);
}

bool evaluate(JSContext* cx, const std::string& source, const char* name,
              JS::MutableHandleValue result)
{
    JS::CompileOptions options(cx);
    options.setFileAndLine(name, 1);
    JS::SourceText<mozilla::Utf8Unit> text;
    return text.init(cx, source.data(), source.size(), JS::SourceOwnership::Borrowed) &&
           JS::Evaluate(cx, options, text, result);
}

// Compiles a design function as edw-js does and stores it in the global `name`.
void compile_function(JSContext* cx, JS::HandleObject global, const std::string& source,
                      const char* name)
{
    JS::RootedValue fun(cx);
    if (!evaluate(cx, bench::wrap_function(source), name, &fun)) {
        fail(cx, name);
    }
    if (!fun.isObject() || !JS_ObjectIsFunction(&fun.toObject())) {
        std::fprintf(stderr, "mozjs: %s: not a function expression\n", name);
        std::exit(1);
    }
    if (!JS_SetProperty(cx, global, name, fun)) {
        fail(cx, name);
    }
}

// Calls the driver function `fun` once per doc, the doc's JSON text in, a value out.
template <typename Take>
bench::Digest each_doc(JSContext* cx, JS::HandleObject global, JS::HandleValue fun,
                       const std::vector<std::string>& docs, Take take)
{
    bench::Digest digest;
    JS::RootedValue arg(cx);
    JS::RootedValue result(cx);
    for (const auto& doc : docs) {
        // UTF-8 in and out, as design docs may hold any text; duktape takes the bytes as they are.
        JSString* text = JS_NewStringCopyUTF8N(cx, JS::UTF8Chars(doc.data(), doc.size()));
        if (text == nullptr) {
            fail(cx, "string");
        }
        arg.setString(text);
        if (!JS::Call(cx, global, fun, JS::HandleValueArray(arg), &result)) {
            fail(cx, "call");
        }
        take(digest, result);
    }
    return digest;
}

bool stop_now(JSContext*)
{
    return false; // false ends the running script with an uncatchable error
}

// Runs `for (;;) {}` and asks another thread to interrupt it after 100 ms, as a watchdog in
// edw-js would; returns how many ms the engine took to stop, or -1 when it did not stop cleanly.
double check_interrupt(JSContext* cx)
{
    if (!JS_AddInterruptCallback(cx, stop_now)) {
        return -1;
    }
    std::atomic<double> asked{0};
    std::thread watchdog([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        asked = bench::now_ms();
        JS_RequestInterruptCallback(cx);
    });
    JS::RootedValue ignored(cx);
    const bool finished = evaluate(cx, "for (;;) {}", "loop", &ignored);
    const double stopped = bench::now_ms();
    watchdog.join();
    if (finished || JS_IsExceptionPending(cx)) {
        return -1;
    }
    return stopped - asked.load();
}

} // namespace

int main(int argc, char** argv)
{
    const bench::Args args = bench::parse_args(argc, argv);
    bench::Report report{};
    report.engine = "mozjs-102";
    report.docs = args.docs;
    report.rss_base_kb = bench::status_kb("VmHWM");

    const double start = bench::now_ms();
    if (!JS_Init()) {
        std::fprintf(stderr, "mozjs: JS_Init failed\n");
        return 1;
    }
    JSContext* cx = JS_NewContext(JS::DefaultHeapMaxBytes);
    if (cx == nullptr || !JS::InitSelfHostedCode(cx)) {
        std::fprintf(stderr, "mozjs: cannot create a context\n");
        return 1;
    }
    {
        JS::RealmOptions options;
        JS::RootedObject global(
            cx, JS_NewGlobalObject(cx, &global_class, nullptr, JS::FireOnNewGlobalHook, options));
        if (!global) {
            fail(cx, "global");
        }
        JSAutoRealm realm(cx, global);
        if (!JS::InitRealmStandardClasses(cx)) {
            fail(cx, "standard classes");
        }
        report.startup_ms = bench::now_ms() - start;
        report.rss_startup_kb = bench::status_kb("VmHWM");

        const double compile_start = bench::now_ms();
        JS::RootedValue ignored(cx);
        if (!evaluate(cx, bench::driver, "driver", &ignored)) {
            fail(cx, "driver");
        }
        compile_function(cx, global, args.map_source, "__map");
        compile_function(cx, global, args.filter_source, "__filter");
        report.compile_ms = bench::now_ms() - compile_start;

        const std::vector<std::string> docs = bench::make_docs(args.docs);
        JS::RootedValue run_map(cx);
        JS::RootedValue run_filter(cx);
        if (!JS_GetProperty(cx, global, "__run_map", &run_map) ||
            !JS_GetProperty(cx, global, "__run_filter", &run_filter)) {
            fail(cx, "driver functions");
        }

        // The string is copied out, as edw-js copies each answer into its output buffer.
        std::string out;
        report.map = bench::first_and_best([&] {
            return each_doc(cx, global, run_map, docs,
                            [&](bench::Digest& digest, JS::HandleValue result) {
                                JS::RootedString text(cx, result.toString());
                                const JS::UniqueChars chars = JS_EncodeStringToUTF8(cx, text);
                                out.assign(chars.get());
                                digest.add(out);
                                digest.count_rows(out);
                            });
        });
        report.filter = bench::first_and_best([&] {
            return each_doc(cx, global, run_filter, docs,
                            [&](bench::Digest& digest, JS::HandleValue result) {
                                const bool passed = JS::ToBoolean(result);
                                digest.add(passed ? "1" : "0");
                                digest.rows += passed ? 1 : 0;
                            });
        });
        report.rss_end_kb = bench::status_kb("VmHWM");

        // After the figures, so the watchdog thread and the endless loop cost them nothing; and
        // not for N=0, the run that times a whole process, to which it would add its 100 ms.
        report.interrupt_stop_ms = args.docs > 0 ? check_interrupt(cx) : -1;
        report.interrupt = args.docs == 0                 ? "not_checked"
                           : report.interrupt_stop_ms < 0 ? "failed"
                                                          : "JS_RequestInterruptCallback";
        bench::print(report);
    }
    JS_DestroyContext(cx);
    JS_ShutDown();
    return 0;
}
