// FakeTransport: an HttpTransport that answers from a script of responses, for unit tests.
#pragma once

#include "recording.hpp"

#include <edw/http/http.hpp>

#include <deque>
#include <functional>
#include <string>
#include <vector>

/// Answers requests in order from queued responses (or throws TransportError for a queued
/// failure), and keeps every request it got so that tests can check what was sent.
class FakeTransport final : public edw::HttpTransport {
public:
    void answer(int status, std::string body, edw::HttpHeaders headers = {});
    void answer(const Recording& recording);
    void fail(std::string message);             ///< The next request gets a TransportError.
    void fail_permanently(std::string message); ///< ... one that is not worth retrying.

    edw::HttpResponse perform(const edw::HttpRequest& request) override;
    /// Streams the queued body in pieces of `stream_piece` bytes.
    edw::HttpResponse stream(const edw::HttpRequest& request, edw::StreamHandler& handler) override;

    std::vector<edw::HttpRequest> requests;
    std::size_t stream_piece = 7;

private:
    struct Scripted {
        bool fails = false;
        bool retryable = true;
        std::string message;
        edw::HttpResponse response;
    };
    Scripted next(const edw::HttpRequest& request);
    std::deque<Scripted> m_script;
};
