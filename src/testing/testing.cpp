#include "fcgihost/testing.hpp"

#include <cctype>
#include <stdexcept>

namespace fcgihost {
namespace testing {
namespace {

std::string param_name_of_header(const std::string& name) {
    std::string param = "HTTP_";
    for (char c : name) param += (c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return param;
}

void set_param(NameValues& params, const std::string& name, const std::string& value) {
    for (auto& nv : params) {
        if (nv.first == name) {
            nv.second = value;
            return;
        }
    }
    params.emplace_back(name, value);
}

}  // namespace

RequestBuilder::RequestBuilder(std::string method, std::string target)
    : method_(std::move(method)), target_(std::move(target)) {}

RequestBuilder& RequestBuilder::header(const std::string& name, const std::string& value) {
    set_param(extra_, param_name_of_header(name), value);
    return *this;
}

RequestBuilder& RequestBuilder::body(std::string body, const std::string& content_type) {
    body_ = std::move(body);
    if (!content_type.empty()) set_param(extra_, "CONTENT_TYPE", content_type);
    return *this;
}

RequestBuilder& RequestBuilder::param(const std::string& name, const std::string& value) {
    set_param(extra_, name, value);
    return *this;
}

RequestBuilder& RequestBuilder::remote_addr(const std::string& address) { return param("REMOTE_ADDR", address); }

NameValues RequestBuilder::params() const {
    std::size_t q = target_.find('?');
    std::string path = target_.substr(0, q);
    NameValues params = {
        {"REQUEST_METHOD", method_},
        {"REQUEST_URI", target_},
        {"SCRIPT_NAME", path},
        {"DOCUMENT_URI", path},
        {"QUERY_STRING", q == std::string::npos ? "" : target_.substr(q + 1)},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"REMOTE_ADDR", "127.0.0.1"},
    };
    if (!body_.empty() || method_ == "POST" || method_ == "PUT") {
        params.emplace_back("CONTENT_LENGTH", std::to_string(body_.size()));
    }
    for (const auto& nv : extra_) set_param(params, nv.first, nv.second);
    return params;
}

Request RequestBuilder::build() const { return Request::from_params(params(), body_); }

Response run(const Handler& handler, const Request& request) {
    try {
        return handler(request);
    } catch (const RequestError& e) {
        return Response::text(e.status, "bad request\n");
    } catch (...) {
        return Response::text(500, "internal server error\n");
    }
}

Response run(const Router& router, const Request& request) {
    return run([&router](const Request& r) { return router.route(r); }, request);
}

Response run(const Router& router, const RequestBuilder& request) {
    try {
        return run(router, request.build());
    } catch (const RequestError& e) {
        return Response::text(e.status, "bad request\n");
    }
}

QueueResult ManualQueue::queue(std::string name, Job job) {
    if (stopping_) {
        ++rejected_;
        return QueueResult::stopping;
    }
    if (jobs_.size() >= capacity_) {
        ++rejected_;
        return QueueResult::full;
    }
    jobs_.push_back(Entry{std::move(name), std::move(job)});
    return QueueResult::accepted;
}

std::vector<std::string> ManualQueue::names() const {
    std::vector<std::string> names;
    for (const Entry& entry : jobs_) names.push_back(entry.name);
    return names;
}

bool ManualQueue::run_next() {
    if (jobs_.empty()) return false;
    Entry entry = std::move(jobs_.front());
    jobs_.pop_front();
    entry.job(tokens_.token());
    return true;
}

std::size_t ManualQueue::run_all() {
    std::size_t ran = 0;
    while (run_next()) ++ran;
    return ran;
}

std::size_t ManualQueue::discard_all() {
    std::size_t n = jobs_.size();
    jobs_.clear();
    return n;
}

}  // namespace testing
}  // namespace fcgihost
