// Tests for fcgihost/status.hpp: the status page as JSON and as Prometheus text.
#include "fcgihost/status.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

using namespace fcgihost;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every counter a distinct value, so a field showing the wrong counter is caught.
StatusSnapshot filled_snapshot() {
    StatusSnapshot s;
    s.state = HostState::draining;
    s.uptime_seconds = 12.5;
    s.drain_deadline_left_ms = 1500;
    s.request_threads = 8;
    s.workers = 4;
    s.pid = 4321;
    s.requests.served = 101;
    s.requests.active = 2;
    s.requests.handler_errors = 5;
    s.requests.bad_requests = 6;
    s.requests.connections = 9;
    s.jobs.queued = 11;
    s.jobs.running = 12;
    s.jobs.accepted = 130;
    s.jobs.completed = 14;
    s.jobs.failed = 15;
    s.jobs.rejected_full = 3;
    s.jobs.rejected_stopping = 16;
    s.jobs.rejected_no_workers = 20;
    s.jobs.cancelled = 17;
    s.jobs.abandoned = 18;
    s.jobs.capacity = 1024;
    s.jobs.high_water = 7;
    return s;
}

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool is_name_char(char c) { return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

// True if `line` is a sample: `name value` or `name{label="v",...} value`, value a number.
// Sets `name` to the metric name.
bool parse_sample(const std::string& line, std::string& name) {
    std::size_t i = 0;
    if (line.empty() || !is_name_start(line[0])) return false;
    while (i < line.size() && is_name_char(line[i])) ++i;
    name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
        ++i;
        while (true) {
            if (i >= line.size() || !is_name_start(line[i])) return false;
            while (i < line.size() && is_name_char(line[i])) ++i;
            if (line.compare(i, 2, "=\"") != 0) return false;
            i += 2;
            while (i < line.size() && line[i] != '"') {
                if (line[i] == '\\') ++i;
                ++i;
            }
            if (i >= line.size()) return false;
            ++i;  // closing quote
            if (i < line.size() && line[i] == ',') { ++i; continue; }
            if (i < line.size() && line[i] == '}') { ++i; break; }
            return false;
        }
    }
    if (i >= line.size() || line[i] != ' ') return false;
    std::string value = line.substr(i + 1);
    if (value.empty() || value.find(' ') != std::string::npos) return false;
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    return *end == '\0';
}

}  // namespace

class StatusTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StatusTest);
    CPPUNIT_TEST(testJsonHasEveryField);
    CPPUNIT_TEST(testJsonIsOneObject);
    CPPUNIT_TEST(testJsonStates);
    CPPUNIT_TEST(testPrometheusState);
    CPPUNIT_TEST(testPrometheusValues);
    CPPUNIT_TEST(testPrometheusLinesWellFormed);
    CPPUNIT_TEST_SUITE_END();

public:
    void testJsonHasEveryField() {
        const std::string json = status_json(filled_snapshot());
        const char* fields[] = {"\"state\":\"draining\"",   "\"pid\":4321",          "\"uptime_seconds\":12.5",
                                "\"drain_deadline_left_ms\":1500", "\"served\":101", "\"active\":2",
                                "\"queued\":11",             "\"running\":12",        "\"completed\":14",
                                "\"failed\":15",             "\"rejected_full\":3",   "\"rejected_stopping\":16",
                                "\"rejected\":39",           "\"rejected_no_workers\":20", "\"cancelled\":17",
                                "\"abandoned\":18",
                                "\"capacity\":1024",         "\"high_water\":7",      "\"workers\":4"};
        for (const char* field : fields) {
            CPPUNIT_ASSERT_MESSAGE(std::string("no ") + field + " in " + json, contains(json, field));
        }
    }

    void testJsonIsOneObject() {
        const std::string json = status_json(filled_snapshot());
        CPPUNIT_ASSERT(!json.empty());
        CPPUNIT_ASSERT_EQUAL('{', json[0]);
        std::string trimmed = json.substr(0, json.find_last_not_of("\n") + 1);
        CPPUNIT_ASSERT_EQUAL('}', trimmed.back());
        int depth = 0;
        for (char c : trimmed) {
            if (c == '{') ++depth;
            if (c == '}') --depth;
            CPPUNIT_ASSERT(depth >= 0);
        }
        CPPUNIT_ASSERT_EQUAL(0, depth);
    }

    void testJsonStates() {
        StatusSnapshot s;
        CPPUNIT_ASSERT_MESSAGE(status_json(s), contains(status_json(s), "\"state\":\"running\""));
        s.state = HostState::cancelling;
        CPPUNIT_ASSERT_MESSAGE(status_json(s), contains(status_json(s), "\"state\":\"cancelling\""));
    }

    void testPrometheusState() {
        const std::string text = status_prometheus(filled_snapshot());
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "# HELP fcgihost_state "));
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "# TYPE fcgihost_state gauge\n"));
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "\nfcgihost_state{state=\"draining\"} 1\n"));
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "\nfcgihost_state{state=\"running\"} 0\n"));
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "\nfcgihost_state{state=\"cancelling\"} 0\n"));
        std::istringstream lines(text);
        std::string line;
        int ones = 0;
        while (std::getline(lines, line)) {
            if (line.compare(0, 15, "fcgihost_state{") == 0 && line.compare(line.size() - 2, 2, " 1") == 0) ++ones;
        }
        CPPUNIT_ASSERT_EQUAL(1, ones);
    }

    void testPrometheusValues() {
        const std::string text = status_prometheus(filled_snapshot());
        const char* samples[] = {"fcgihost_jobs_rejected_total{reason=\"full\"} 3\n",
                                 "fcgihost_jobs_rejected_total{reason=\"stopping\"} 16\n",
                                 "fcgihost_jobs_rejected_total{reason=\"no_workers\"} 20\n",
                                 "fcgihost_requests_served_total 101\n",
                                 "fcgihost_jobs_completed_total 14\n",
                                 "fcgihost_jobs_failed_total 15\n",
                                 "fcgihost_jobs_queued 11\n",
                                 "fcgihost_jobs_running 12\n",
                                 "fcgihost_jobs_queue_high_water 7\n",
                                 "fcgihost_jobs_queue_capacity 1024\n",
                                 "fcgihost_uptime_seconds 12.5\n",
                                 "fcgihost_drain_deadline_left_seconds 1.5\n"};
        for (const char* sample : samples) {
            CPPUNIT_ASSERT_MESSAGE(std::string("no ") + sample + " in\n" + text, contains(text, std::string("\n") + sample));
        }
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "# TYPE fcgihost_jobs_rejected_total counter\n"));
    }

    void testPrometheusLinesWellFormed() {
        const std::string text = status_prometheus(filled_snapshot());
        CPPUNIT_ASSERT(!text.empty() && text.back() == '\n');
        std::set<std::string> typed;
        std::set<std::string> helped;
        std::istringstream lines(text);
        std::string line;
        int samples = 0;
        while (std::getline(lines, line)) {
            if (line.compare(0, 7, "# HELP ") == 0) {
                helped.insert(line.substr(7, line.find(' ', 7) - 7));
                continue;
            }
            if (line.compare(0, 7, "# TYPE ") == 0) {
                std::istringstream fields(line.substr(7));
                std::string name, type;
                fields >> name >> type;
                CPPUNIT_ASSERT_MESSAGE(line, type == "gauge" || type == "counter");
                typed.insert(name);
                continue;
            }
            std::string name;
            CPPUNIT_ASSERT_MESSAGE("malformed line: '" + line + "'", parse_sample(line, name));
            CPPUNIT_ASSERT_MESSAGE("no fcgihost_ prefix: " + line, name.compare(0, 9, "fcgihost_") == 0);
            CPPUNIT_ASSERT_MESSAGE("sample before its TYPE: " + line, typed.count(name) == 1);
            CPPUNIT_ASSERT_MESSAGE("sample without HELP: " + line, helped.count(name) == 1);
            ++samples;
        }
        CPPUNIT_ASSERT(samples >= 15);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(StatusTest, "unit");
