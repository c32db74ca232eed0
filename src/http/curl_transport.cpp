// CurlTransport: HttpTransport over libcurl easy handles, pooled for connection reuse.
#include "edw/http/curl_transport.hpp"

#include <edw/util/error.hpp>

#include <curl/curl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace edw {
namespace {

struct CurlHandleDeleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using CurlHandle = std::unique_ptr<CURL, CurlHandleDeleter>;

struct CurlListDeleter {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using CurlList = std::unique_ptr<curl_slist, CurlListDeleter>;

// Failures that come back the same however often the request is sent.
bool is_retryable(CURLcode code)
{
    switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return false;
    default:
        return true;
    }
}

void initialise_curl_once()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw TransportError("cannot initialise libcurl");
        }
    });
}

// State of one transfer, reached from libcurl's C callbacks through a void pointer.
struct Transfer {
    HttpResponse response;
    StreamHandler* handler = nullptr;
    bool headers_delivered = false;
    bool stopped_by_handler = false;

    [[nodiscard]] bool streaming_body() const
    {
        return handler != nullptr && response.status >= 200 && response.status < 300;
    }

    bool deliver_headers()
    {
        if (handler == nullptr || headers_delivered) {
            return true;
        }
        headers_delivered = true;
        if (!handler->on_headers(response.status, response.headers)) {
            stopped_by_handler = true;
            return false;
        }
        return true;
    }
};

std::string trim(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}

size_t on_header_line(char* data, size_t size, size_t count, void* user)
{
    auto& transfer = *static_cast<Transfer*>(user);
    const std::string_view line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
        // A new status line starts a new header block (after a 100 Continue, for example).
        transfer.response.headers.clear();
        const auto space = line.find(' ');
        transfer.response.status = space == std::string_view::npos
                                       ? 0
                                       : std::atoi(std::string(line.substr(space + 1, 3)).c_str());
        return size * count;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        transfer.response.headers.emplace_back(trim(line.substr(0, colon)),
                                               trim(line.substr(colon + 1)));
    } else if (trim(line).empty() && transfer.response.status >= 200) {
        // The blank line ends the final header block: the handler may now look at the status.
        if (!transfer.deliver_headers()) {
            return 0;
        }
    }
    return size * count;
}

size_t on_body_bytes(char* data, size_t size, size_t count, void* user)
{
    auto& transfer = *static_cast<Transfer*>(user);
    const std::string_view bytes(data, size * count);
    if (!transfer.deliver_headers()) {
        return 0;
    }
    if (transfer.streaming_body()) {
        if (!transfer.handler->on_data(bytes)) {
            transfer.stopped_by_handler = true;
            return 0;
        }
        return bytes.size();
    }
    transfer.response.body.append(bytes);
    return bytes.size();
}

class CurlTransport final : public HttpTransport {
public:
    explicit CurlTransport(TransportOptions options)
        : m_options(std::move(options))
    {
        initialise_curl_once();
    }

    HttpResponse perform(const HttpRequest& request) override { return run(request, nullptr); }

    HttpResponse stream(const HttpRequest& request, StreamHandler& handler) override
    {
        return run(request, &handler);
    }

    void drop_idle_connections() override
    {
        const std::lock_guard lock(m_mutex);
        m_idle.clear(); // curl_easy_cleanup closes each handle's connections
        ++m_generation;
    }

private:
    HttpResponse run(const HttpRequest& request, StreamHandler* handler)
    {
        const auto [generation, taken] = take_handle();
        CurlHandle handle(taken);
        CURL* curl = handle.get();
        Transfer transfer;
        transfer.handler = handler;

        CurlList headers;
        for (const auto& [name, value] : request.headers) {
            const std::string line = name + ": " + value;
            curl_slist* grown = curl_slist_append(headers.get(), line.c_str());
            if (grown == nullptr) {
                throw TransportError("cannot build request headers: out of memory");
            }
            (void)headers.release();
            headers.reset(grown);
        }
        // libcurl would otherwise wait for a 100 Continue before sending large bodies.
        curl_slist* grown = curl_slist_append(headers.get(), "Expect:");
        (void)headers.release();
        headers.reset(grown);

        char error_text[CURL_ERROR_SIZE] = {};
        curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header_line);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body_bytes);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
        if (request.silence_limit.count() > 0) {
            // Less than a byte a second for this long: libcurl counts whole seconds.
            curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
            curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                             static_cast<long>((request.silence_limit.count() + 999) / 1000));
        }
        switch (request.method) {
        case HttpMethod::get:
            curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
            break;
        case HttpMethod::head:
            curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
            break;
        case HttpMethod::post:
        case HttpMethod::put:
        case HttpMethod::del:
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
                             std::string(method_name(request.method)).c_str());
            if (request.method != HttpMethod::del || !request.body.empty()) {
                curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
                curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                 static_cast<curl_off_t>(request.body.size()));
            }
            break;
        }

        const CURLcode code =
            handler == nullptr ? curl_easy_perform(curl) : perform_watched(curl, transfer);
        if (code != CURLE_OK && !transfer.stopped_by_handler) {
            // The connection may be half-used: do not put this handle back in the pool.
            const std::string detail =
                error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
            throw TransportError(std::string(method_name(request.method)) + " " + request.url +
                                     ": " + detail,
                                 is_retryable(code));
        }
        if (code == CURLE_OK) {
            transfer.deliver_headers();
            give_back(std::move(handle), generation);
        }
        return std::move(transfer.response);
    }

    // A streamed transfer runs on a multi handle so that the handler is asked every 100 ms
    // whether to go on; libcurl's own progress callback may wait a whole second when idle, which
    // is too slow to notice a silent feed or a shutdown request.
    static CURLcode perform_watched(CURL* curl, Transfer& transfer)
    {
        struct MultiDeleter {
            void operator()(CURLM* multi) const noexcept { curl_multi_cleanup(multi); }
        };
        const std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
        if (!multi) {
            throw TransportError("cannot create a libcurl multi handle");
        }
        curl_multi_add_handle(multi.get(), curl);
        CURLcode result = CURLE_OK;
        for (;;) {
            int running = 0;
            const CURLMcode performed = curl_multi_perform(multi.get(), &running);
            if (performed != CURLM_OK) {
                curl_multi_remove_handle(multi.get(), curl);
                throw TransportError(std::string("libcurl: ") + curl_multi_strerror(performed));
            }
            if (running == 0) {
                int queued = 0;
                while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
                    if (message->msg == CURLMSG_DONE) {
                        result = message->data.result;
                    }
                }
                break;
            }
            if (transfer.stopped_by_handler || !transfer.handler->keep_going()) {
                transfer.stopped_by_handler = true;
                result = CURLE_ABORTED_BY_CALLBACK;
                break;
            }
            curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
        }
        curl_multi_remove_handle(multi.get(), curl);
        return result;
    }

    // A handle and the pool's generation when it was taken: a handle taken before the
    // connections were dropped is not given back.
    std::pair<std::uint64_t, CURL*> take_handle()
    {
        std::uint64_t generation = 0;
        {
            const std::lock_guard lock(m_mutex);
            generation = m_generation;
            if (!m_idle.empty()) {
                CurlHandle handle = std::move(m_idle.back());
                m_idle.pop_back();
                reset_options(handle.get());
                return {generation, handle.release()};
            }
        }
        CurlHandle handle(curl_easy_init());
        if (!handle) {
            throw TransportError("cannot create a libcurl handle");
        }
        reset_options(handle.get());
        return {generation, handle.release()};
    }

    // Options that every request needs; curl_easy_reset keeps the connection cache.
    void reset_options(CURL* curl) const
    {
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(m_options.connect_timeout.count()));
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, m_options.verify_tls ? 1L : 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, m_options.verify_tls ? 2L : 0L);
        if (!m_options.ca_file.empty()) {
            curl_easy_setopt(curl, CURLOPT_CAINFO, m_options.ca_file.c_str());
        }
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    }

    void give_back(CurlHandle handle, std::uint64_t generation)
    {
        const std::lock_guard lock(m_mutex);
        if (generation == m_generation && m_idle.size() < 16) {
            m_idle.push_back(std::move(handle));
        }
    }

    TransportOptions m_options;
    std::mutex m_mutex;
    std::vector<CurlHandle> m_idle;
    std::uint64_t m_generation = 0; ///< Moved on by drop_idle_connections().
};

} // namespace

std::unique_ptr<HttpTransport> make_curl_transport(const TransportOptions& options)
{
    return std::make_unique<CurlTransport>(options);
}

} // namespace edw
