// FakeTransport: scripted answers.
#include "fake_transport.hpp"

#include <edw/util/error.hpp>

void FakeTransport::answer(int status, std::string body, edw::HttpHeaders headers)
{
    Scripted scripted;
    scripted.response.status = status;
    scripted.response.body = std::move(body);
    scripted.response.headers = std::move(headers);
    m_script.push_back(std::move(scripted));
}

void FakeTransport::answer(const Recording& recording)
{
    answer(recording.status, recording.body, recording.headers);
}

void FakeTransport::fail(std::string message)
{
    Scripted scripted;
    scripted.fails = true;
    scripted.message = std::move(message);
    m_script.push_back(std::move(scripted));
}

void FakeTransport::fail_permanently(std::string message)
{
    fail(std::move(message));
    m_script.back().retryable = false;
}

FakeTransport::Scripted FakeTransport::next(const edw::HttpRequest& request)
{
    requests.push_back(request);
    if (m_script.empty()) {
        throw edw::TransportError("fake transport: no answer scripted for " + request.url);
    }
    Scripted scripted = std::move(m_script.front());
    m_script.pop_front();
    if (scripted.fails) {
        throw edw::TransportError(scripted.message, scripted.retryable);
    }
    return scripted;
}

edw::HttpResponse FakeTransport::perform(const edw::HttpRequest& request)
{
    return next(request).response;
}

edw::HttpResponse FakeTransport::stream(const edw::HttpRequest& request,
                                        edw::StreamHandler& handler)
{
    auto response = next(request).response;
    if (!handler.on_headers(response.status, response.headers)) {
        return response;
    }
    if (response.status < 200 || response.status >= 300) {
        return response;
    }
    const std::string body = std::move(response.body);
    response.body.clear();
    for (std::size_t at = 0; at < body.size(); at += stream_piece) {
        if (!handler.keep_going() ||
            !handler.on_data(std::string_view(body).substr(at, stream_piece))) {
            return response;
        }
    }
    return response;
}
