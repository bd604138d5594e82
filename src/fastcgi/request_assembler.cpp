// The record walk of request_assembler.hpp. Records are taken whole (header, content and
// padding all received), so a record cut short is only ever pending bytes; the pending
// buffer holds at most one such record and what one recv brought behind it. A byte is
// copied once here, from the pending buffer into the assembled request.
#include "fastcgi/request_assembler.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace fcgihost {
namespace {

constexpr std::size_t kHeaderBytes = 8;
constexpr std::size_t kMaxContent = 65535;
constexpr std::size_t kReadBytes = 65536;
constexpr std::size_t kAnswersBound = 65536;  // answers owed before input is read again
constexpr std::size_t kReadShare = 16 * kReadBytes;  // read by one read_from() at most
constexpr unsigned char kVersion1 = 1;
constexpr unsigned char kBeginRequest = 1;
constexpr unsigned char kAbortRequest = 2;
constexpr unsigned char kEndRequest = 3;
constexpr unsigned char kParams = 4;
constexpr unsigned char kStdin = 5;
constexpr unsigned char kGetValues = 9;
constexpr unsigned char kGetValuesResult = 10;
constexpr unsigned char kUnknownType = 11;
constexpr unsigned kResponder = 1;
constexpr unsigned char kKeepConn = 1;
constexpr unsigned char kRequestComplete = 0;
constexpr unsigned char kCantMpxConn = 1;
constexpr unsigned char kUnknownRole = 3;

// Pair scan stages: the first byte of the name length, the three more bytes of its long
// form, and the same for the value length.
enum PairStage { kNameFirst, kNameRest, kValueFirst, kValueRest };

void append_header(std::string& out, unsigned char type, std::uint16_t id, std::size_t length,
                   std::size_t padding = 0) {
    const char h[kHeaderBytes] = {static_cast<char>(kVersion1), static_cast<char>(type), static_cast<char>(id >> 8),
                                  static_cast<char>(id & 0xff),    static_cast<char>(length >> 8),
                                  static_cast<char>(length & 0xff), static_cast<char>(padding), 0};
    out.append(h, kHeaderBytes);
}

void append_end_request(std::string& out, std::uint16_t id, unsigned char protocol_status) {
    append_header(out, kEndRequest, id, 8);
    const char body[8] = {0, 0, 0, 0, static_cast<char>(protocol_status), 0, 0, 0};
    out.append(body, sizeof body);
}

// One length of a name-value pair in its 1- or 4-byte form; false when `n` ends inside it.
bool next_length(const unsigned char* p, std::size_t n, std::size_t& i, std::uint64_t& length) {
    if (i < n && (p[i] & 0x80) == 0) {
        length = p[i++];
        return true;
    }
    if (n - i < 4) return false;
    length = std::uint64_t(p[i] & 0x7f) << 24 | std::uint64_t(p[i + 1]) << 16 | std::uint64_t(p[i + 2]) << 8 | p[i + 3];
    i += 4;
    return true;
}

// Calls `pair(name, value)` for each pair of `content`; false when one claims more than
// the content holds.
template <class Pair> bool each_pair(const std::string& content, Pair pair) {
    const auto* p = reinterpret_cast<const unsigned char*>(content.data());
    const std::size_t n = content.size();
    for (std::size_t i = 0; i < n;) {
        std::uint64_t name = 0;
        std::uint64_t value = 0;
        if (!next_length(p, n, i, name) || !next_length(p, n, i, value) || name + value > n - i) return false;
        pair(content.substr(i, name), content.substr(i + name, value));
        i += static_cast<std::size_t>(name + value);
    }
    return true;
}

void append_pair(std::string& out, const std::string& name, const std::string& value) {
    out.push_back(static_cast<char>(name.size()));  // names and values here are under 128 bytes
    out.push_back(static_cast<char>(value.size()));
    out += name;
    out += value;
}

}  // namespace

RequestAssembler::RequestAssembler(AssemblerLimits limits) : limits_(limits) {}

RequestAssembler::State RequestAssembler::feed(const char* data, std::size_t n) {
    std::memcpy(room_for(n), data, n);
    end_ += n;
    assemble();
    return state_;
}

RequestAssembler::Input RequestAssembler::read_from(int fd) {
    std::size_t share = kReadShare;
    while (state_ == State::reading && answers_.size() < kAnswersBound) {
        if (share == 0) return Input::yielded;
        const ssize_t n = ::recv(fd, room_for(kReadBytes), kReadBytes, MSG_DONTWAIT);
        if (n > 0) {
            end_ += static_cast<std::size_t>(n);
            share -= std::min(share, static_cast<std::size_t>(n));
            assemble();
        } else if (n == 0) {
            return Input::end;
        } else if (errno != EINTR) {
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? Input::would_block : Input::failed;
        }
    }
    return Input::stopped;
}

char* RequestAssembler::room_for(std::size_t n) {
    if (pending_size_ - end_ >= n) return pending_.get() + end_;
    const std::size_t kept = end_ - begin_;  // at most one record cut short
    if (pending_size_ - kept < n) {
        const std::size_t size = std::max(kept + n, kReadBytes);
        std::unique_ptr<char[]> bigger(new char[size]);
        if (kept > 0) std::memcpy(bigger.get(), pending_.get() + begin_, kept);
        pending_ = std::move(bigger);
        pending_size_ = size;
    } else if (kept > 0) {
        std::memmove(pending_.get(), pending_.get() + begin_, kept);
    }
    begin_ = 0;
    end_ = kept;
    return pending_.get() + end_;
}

void RequestAssembler::assemble() {
    while (state_ == State::reading && begin_ < end_) {
        const auto* h = reinterpret_cast<const unsigned char*>(pending_.get() + begin_);
        const std::size_t avail = end_ - begin_;
        if (h[0] != kVersion1) {
            refuse("a record with an unsupported FastCGI version");
            break;
        }
        if (avail < kHeaderBytes) break;
        const std::size_t length = std::size_t(h[4]) << 8 | h[5];
        const std::size_t whole = kHeaderBytes + length + h[6];
        if (avail < whole) break;
        take_record(h[1], static_cast<std::uint16_t>(h[2] << 8 | h[3]), pending_.get() + begin_ + kHeaderBytes, length);
        begin_ += whole;
    }
    if (begin_ == end_) begin_ = end_ = 0;
}

void RequestAssembler::take_record(unsigned char type, std::uint16_t id, const char* content, std::size_t length) {
    begun_ = true;
    if (type == kBeginRequest) return take_begin(id, content, length);
    if (id == 0) return take_management(type, content, length);
    // A record of a request that is not open is ignored (FastCGI 1.0, section 3.3).
    if (id != request_id_) return;
    if (type == kAbortRequest) return end_request_unserved(id, kRequestComplete, keep_conn_);
    if (type == kParams) return take_params(content, length);
    if (type == kStdin) return take_stdin(content, length);
    // FCGI_DATA (a filter's) and types only an application sends: nothing a responder reads.
}

void RequestAssembler::take_management(unsigned char type, const char* content, std::size_t length) {
    if (type != kGetValues) {
        append_header(answers_, kUnknownType, 0, 8);
        const char body[8] = {static_cast<char>(type), 0, 0, 0, 0, 0, 0, 0};
        answers_.append(body, sizeof body);
        return;
    }
    // Each name known here is answered once, however often it is asked for.
    bool conns = false;
    bool reqs = false;
    bool mpxs = false;
    const bool well_formed = each_pair(std::string(content, length), [&](const std::string& name, const std::string&) {
        conns |= name == "FCGI_MAX_CONNS";
        reqs |= name == "FCGI_MAX_REQS";
        mpxs |= name == "FCGI_MPXS_CONNS";
    });
    if (!well_formed) return refuse("an FCGI_GET_VALUES record whose name-value pairs claim more than it holds");
    std::string values;
    if (conns) append_pair(values, "FCGI_MAX_CONNS", std::to_string(limits_.max_conns));
    if (reqs) append_pair(values, "FCGI_MAX_REQS", std::to_string(limits_.max_conns));
    if (mpxs) append_pair(values, "FCGI_MPXS_CONNS", "0");
    const std::size_t padding = (8 - values.size() % 8) % 8;
    append_header(answers_, kGetValuesResult, 0, values.size(), padding);
    answers_ += values;
    answers_.append(padding, '\0');
}

void RequestAssembler::take_begin(std::uint16_t id, const char* content, std::size_t length) {
    if (id == 0) return refuse("an FCGI_BEGIN_REQUEST record with request id 0");
    if (length != 8) {
        return refuse("an FCGI_BEGIN_REQUEST record of " + std::to_string(length) + " bytes (8 expected)");
    }
    const auto* body = reinterpret_cast<const unsigned char*>(content);
    const unsigned role = unsigned(body[0]) << 8 | body[1];
    const bool keep = (body[2] & kKeepConn) != 0;
    if (request_id_ != 0) {
        if (id == request_id_) return refuse("a second FCGI_BEGIN_REQUEST for the open request");
        append_end_request(answers_, id, kCantMpxConn);
        return;
    }
    if (role != kResponder) return end_request_unserved(id, kUnknownRole, keep);
    request_id_ = id;
    keep_conn_ = keep;
    params_open_ = true;
    append_header(records_, kBeginRequest, id, 8);
    const char begin[8] = {0, static_cast<char>(kResponder), static_cast<char>(keep ? kKeepConn : 0), 0, 0, 0, 0, 0};
    records_.append(begin, sizeof begin);
}

void RequestAssembler::take_params(const char* content, std::size_t length) {
    if (!params_open_) return refuse("an FCGI_PARAMS record after the end of the params");
    if (length == 0) return end_params();
    if (scan_params(reinterpret_cast<const unsigned char*>(content), length)) params_.append(content, length);
}

void RequestAssembler::end_params() {
    if (pair_stage_ != kNameFirst || pair_data_left_ != 0) {
        return refuse("FastCGI params that end inside a name-value pair");
    }
    params_open_ = false;
    for (std::size_t at = 0; at < params_.size(); at += kMaxContent) {
        const std::size_t n = std::min(kMaxContent, params_.size() - at);
        append_header(records_, kParams, request_id_, n);
        records_.append(params_, at, n);
    }
    append_header(records_, kParams, request_id_, 0);
    // A CONTENT_LENGTH over the limit is answered 413 at once, before its body is read.
    each_pair(params_, [this](const std::string& name, const std::string& value) {
        if (name != "CONTENT_LENGTH" || value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
            return;
        }
        if (value.size() > 18 || std::stoull(value) > limits_.max_body) body_too_large_ = true;
    });
    std::string().swap(params_);
    if (body_too_large_) state_ = State::complete;
}

void RequestAssembler::take_stdin(const char* content, std::size_t length) {
    if (params_open_) return refuse("an FCGI_STDIN record before the end of the params");
    if (length == 0) {
        append_header(records_, kStdin, request_id_, 0);
        state_ = State::complete;
        return;
    }
    // Kept up to one byte over the limit: enough for the exchange to answer 413.
    const std::uint64_t room = std::uint64_t(limits_.max_body) + 1 - body_kept_;
    const std::size_t keep = static_cast<std::size_t>(std::min<std::uint64_t>(length, room));
    append_header(records_, kStdin, request_id_, keep);
    records_.append(content, keep);
    body_kept_ += keep;
    if (body_kept_ > limits_.max_body) {
        body_too_large_ = true;
        state_ = State::complete;
    }
}

void RequestAssembler::end_request_unserved(std::uint16_t id, unsigned char protocol_status, bool keep) {
    append_end_request(answers_, id, protocol_status);
    if (id == request_id_) forget_request();
    begun_ = false;
    ended_ = true;
    if (!keep) state_ = State::finished;
}

RequestAssembler::State RequestAssembler::next() {
    if (state_ != State::complete) return state_;
    if (body_too_large_) {
        state_ = State::finished;  // the rest of its body was never read
        return state_;
    }
    forget_request();
    begun_ = false;
    state_ = State::reading;
    assemble();
    return state_;
}

void RequestAssembler::forget_request() {
    request_id_ = 0;
    keep_conn_ = false;
    params_open_ = false;
    body_too_large_ = false;
    body_kept_ = 0;
    records_.clear();
    params_.clear();
    pair_stage_ = kNameFirst;
    pair_data_left_ = 0;
    params_used_ = 0;
}

bool RequestAssembler::idle() const { return !begun_ && request_id_ == 0 && begin_ == end_; }

bool RequestAssembler::take_ended() {
    const bool ended = ended_;
    ended_ = false;
    return ended;
}

std::string RequestAssembler::stage() const {
    if (request_id_ != 0) return params_open_ ? "in its params" : "in its body";
    if (begin_ < end_) return "in a record";
    return "before its FCGI_BEGIN_REQUEST";
}

void RequestAssembler::release_memory() {
    if (!idle()) return;
    pending_.reset();
    pending_size_ = begin_ = end_ = 0;
    std::string().swap(records_);
    std::string().swap(params_);
    if (answers_.empty()) std::string().swap(answers_);
}

// Scans params content for the pair lengths in it; a pair is refused as soon as its
// lengths are known, so that no claim is ever waited for, let alone allocated.
bool RequestAssembler::scan_params(const unsigned char* p, std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
        if (pair_data_left_ > 0) {
            const std::size_t skip = static_cast<std::size_t>(std::min<std::uint64_t>(pair_data_left_, n - i));
            i += skip;
            pair_data_left_ -= skip;
            continue;
        }
        const unsigned char b = p[i++];
        switch (pair_stage_) {
        case kNameFirst:
            name_len_ = b & 0x7f;
            length_bytes_left_ = (b & 0x80) ? 3 : 0;
            pair_prefix_ = 1;
            pair_stage_ = length_bytes_left_ ? kNameRest : kValueFirst;
            continue;
        case kNameRest:
            name_len_ = name_len_ << 8 | b;
            ++pair_prefix_;
            if (--length_bytes_left_ == 0) pair_stage_ = kValueFirst;
            continue;
        case kValueFirst:
            value_len_ = b & 0x7f;
            length_bytes_left_ = (b & 0x80) ? 3 : 0;
            ++pair_prefix_;
            pair_stage_ = kValueRest;
            if (length_bytes_left_ > 0) continue;
            break;
        default:  // kValueRest
            value_len_ = value_len_ << 8 | b;
            ++pair_prefix_;
            if (--length_bytes_left_ > 0) continue;
            break;
        }
        const std::uint64_t claim = std::uint64_t(pair_prefix_) + name_len_ + value_len_;
        if (params_used_ + claim > limits_.max_params) {
            refuse("FastCGI params over the limit of " + std::to_string(limits_.max_params) +
                   " bytes (a name-value pair claims " + std::to_string(claim) + ")");
            return false;
        }
        params_used_ += claim;
        pair_data_left_ = std::uint64_t(name_len_) + value_len_;
        pair_stage_ = kNameFirst;
    }
    return true;
}

void RequestAssembler::refuse(std::string why) {
    if (refusal_.empty()) refusal_ = std::move(why);
    state_ = State::refused;
}

}  // namespace fcgihost
