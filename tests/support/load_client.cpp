#include "support/load_client.hpp"

#include "support/http_client.hpp"

#include <strings.h>

#include <map>
#include <memory>
#include <sstream>

namespace fcgihost {
namespace testing_support {

bool is_2xx(const Outcome& o) { return o.status >= 200 && o.status < 300; }

long long ms_between(LoadClock::time_point from, LoadClock::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

std::vector<Planned> mixed_plan(std::size_t total, const std::string& prefix, int job_ms, bool posts) {
    std::vector<Planned> plan(total);
    for (std::size_t i = 0; i < total; ++i) {
        Planned& p = plan[i];
        p.method = "GET";
        if (i % 2 == 0) {
            p.job_id = prefix + std::to_string(i);
            p.target = "/work?ms=" + std::to_string(job_ms) + "&id=" + p.job_id;
            p.expected_body = "{\"id\":\"" + p.job_id + "\",\"queued\":true}\n";
        } else if (posts && i % 4 == 3) {
            p.method = "POST";
            p.target = "/echo";
            p.body = "post " + std::to_string(i);
            p.expected_body = p.body;
        } else {
            p.target = "/";
            p.expected_body = "hello\n";
        }
    }
    return plan;
}

HttpLoad::HttpLoad(const std::string& host, int port, unsigned clients, std::vector<Planned> plan,
                   std::chrono::seconds request_limit)
    : host_(host), port_(port), request_limit_(request_limit), plan_(std::move(plan)), outcomes_(plan_.size()) {
    for (unsigned i = 0; i < clients; ++i) threads_.emplace_back([this] { client_main(); });
}

HttpLoad::~HttpLoad() {
    abandoned_ = true;
    join();
}

const std::vector<Outcome>& HttpLoad::join() {
    for (std::thread& t : threads_)
        if (t.joinable()) t.join();
    return outcomes_;
}

void HttpLoad::client_main() {
    std::unique_ptr<HttpConnection> connection;
    for (std::size_t i = next_++; i < plan_.size() && !abandoned_; i = next_++) {
        const Planned& p = plan_[i];
        Outcome& o = outcomes_[i];
        o.sent = LoadClock::now();
        try {
            if (!connection) connection.reset(new HttpConnection(host_, port_, request_limit_));
            HttpResponse r = connection->request(p.method, p.target, p.body);
            o.status = r.status;
            o.body_matches = r.body == p.expected_body;
            if (strcasecmp(r.header("Connection").c_str(), "close") == 0) connection.reset();
        } catch (const HttpError& e) {
            o.error = e.what();
            connection.reset();
        }
        o.received = LoadClock::now();
        ++completed_;
    }
}

std::string tally(const std::vector<Outcome>& outcomes) {
    std::map<int, std::size_t> by_status;
    for (const Outcome& o : outcomes) ++by_status[is_2xx(o) ? 200 : o.status];
    std::ostringstream out;
    out << "2xx " << by_status[200];
    for (const auto& s : by_status) {
        if (s.first == 200) continue;
        out << ", " << (s.first == 0 ? std::string("no response") : std::to_string(s.first)) << " " << s.second;
    }
    return out.str();
}

std::string first_failure(const std::vector<Planned>& plan, const std::vector<Outcome>& outcomes) {
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const Outcome& o = outcomes[i];
        if (!is_2xx(o) || !o.body_matches) {
            return plan[i].target + ": status " + std::to_string(o.status) + (o.error.empty() ? "" : ", " + o.error);
        }
    }
    return "none";
}

}  // namespace testing_support
}  // namespace fcgihost
