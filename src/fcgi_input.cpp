// The record walk follows libfcgi's own reading of a connection (fcgiapp.c, 2.4.2): a
// record with another version stops it; FCGI_BEGIN_REQUEST with a non-zero id starts a
// request when none is being read (otherwise libfcgi answers FCGI_CANT_MPX_CONN and skips
// it); any other record with id 0 is a management record; records of the current request
// are its params, then its body; records of other ids are dropped here. libfcgi parses
// name-value pairs in two places only, the current request's FCGI_PARAMS and
// FCGI_GET_VALUES, and those are the two places checked here. Where this walk and libfcgi
// could disagree (a record libfcgi rejects), libfcgi stops reading the connection, so
// nothing after the disagreement is ever parsed.
#include "fcgi_input.hpp"

#include <dlfcn.h>
#include <fcgios.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace fcgihost {
namespace {

constexpr std::size_t kHeaderBytes = 8;
constexpr std::size_t kBufferBytes = 8192;
constexpr unsigned char kVersion1 = 1;
constexpr unsigned char kBeginRequest = 1;
constexpr unsigned char kParams = 4;
constexpr unsigned char kStdin = 5;
constexpr unsigned char kGetValues = 9;
constexpr unsigned char kUnknownType = 11;

// Pair scan stages: the first byte of the name length, the three more bytes of its long
// form, and the same for the value length.
enum PairStage { kNameFirst, kNameRest, kValueFirst, kValueRest };

thread_local FcgiInput* current_input = nullptr;
thread_local int current_fd = -1;

using OsRead = int (*)(int, char*, size_t);

// libfcgi's own OS_Read, for reads that are not ours to check.
OsRead libfcgi_os_read() {
    static const OsRead next = reinterpret_cast<OsRead>(dlsym(RTLD_NEXT, "OS_Read"));
    return next;
}

}  // namespace

FcgiInput::FcgiInput(std::size_t max_params) : max_params_(max_params), buffer_(kBufferBytes) {}

void FcgiInput::bind(int fd) {
    fd_ = fd;
    begin_ = end_ = approved_ = 0;
    part_ = Part::header;
    handling_ = Handling::pass;
    left_ = 0;
    request_id_ = 0;
    params_open_ = false;
    end_request_ = false;
    refusal_.clear();
    if (buffer_.size() > kBufferBytes) buffer_.assign(kBufferBytes, 0);  // a GET_VALUES record grew it
}

ssize_t FcgiInput::read(char* out, std::size_t len) {
    std::size_t copied = 0;
    while (copied < len) {
        if (approved_ > 0) {
            const std::size_t n = std::min(approved_, len - copied);
            std::memcpy(out + copied, &buffer_[begin_], n);
            begin_ += n;
            approved_ -= n;
            copied += n;
            continue;
        }
        if (!refusal_.empty()) break;
        if (end_request_) {
            if (copied > 0) break;  // what follows belongs to the next request
            end_request_ = false;   // libfcgi reads again: the next request has begun
        }
        if (!approve_more(copied == 0)) break;
    }
    if (copied > 0) return static_cast<ssize_t>(copied);
    if (!refusal_.empty()) {
        errno = EPROTO;
        return -1;
    }
    errno = last_errno_;
    return last_read_;
}

// Approves (or drops) the next bytes of the record walk. False when nothing more can be
// approved now: more bytes are needed and `may_block` is false, the read failed, or the
// input was refused.
bool FcgiInput::approve_more(bool may_block) {
    if (part_ == Part::header) return have(kHeaderBytes, may_block) && start_record(may_block);
    if (left_ == 0) {
        part_ = part_ == Part::content ? Part::padding : Part::header;
        left_ = part_ == Part::padding ? padding_ : 0;
        return true;
    }
    if (!have(1, may_block)) return false;
    const std::size_t n = std::min(left_, end_ - begin_);
    if (part_ == Part::content && handling_ == Handling::params &&
        !scan_params(reinterpret_cast<const unsigned char*>(&buffer_[begin_]), n)) {
        return false;
    }
    left_ -= n;
    if (handling_ == Handling::drop) {
        begin_ += n;
    } else {
        approved_ = n;
    }
    return true;
}

bool FcgiInput::have(std::size_t need, bool may_block) {
    if (end_ - begin_ >= need) return true;
    return may_block && fill(need);
}

bool FcgiInput::fill(std::size_t need) {
    if (buffer_.size() - begin_ < need) {
        std::memmove(buffer_.data(), &buffer_[begin_], end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        if (buffer_.size() < need) buffer_.resize(need);
    }
    while (end_ - begin_ < need) {
        const ssize_t n = ::read(fd_, &buffer_[end_], buffer_.size() - end_);
        if (n > 0) {
            end_ += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            last_read_ = n;
            last_errno_ = n < 0 ? errno : 0;
            return false;
        }
    }
    return true;
}

// Decides what becomes of the record whose header is at begin_.
bool FcgiInput::start_record(bool may_block) {
    const auto header = [this] { return reinterpret_cast<unsigned char*>(&buffer_[begin_]); };
    const unsigned char type = header()[1];
    const std::uint16_t id = static_cast<std::uint16_t>(header()[2] << 8 | header()[3]);
    const std::size_t content = static_cast<std::size_t>(header()[4] << 8 | header()[5]);
    const std::size_t padding = header()[6];
    if (header()[0] != kVersion1) {
        approved_ = kHeaderBytes;  // libfcgi stops at it, saying so
        refuse("a record with an unsupported FastCGI version");
        return true;
    }
    if (type != kBeginRequest && id == 0) {
        if (type == kGetValues) {
            // Checked whole, then handed on whole: it is at most 64 KiB.
            const std::size_t total = kHeaderBytes + content + padding;
            if (!have(total, may_block) || !check_get_values(header() + kHeaderBytes, content)) return false;
            approved_ = total;
            return true;
        }
        if (!answer_unknown_type(type)) return false;
        begin_ += kHeaderBytes;
        start_part(Handling::drop, content, padding);
        return true;
    }
    if (type != kBeginRequest && id != request_id_) {
        // A record of a request that is not open is ignored (FastCGI 1.0, section 3.3).
        // libfcgi would skip it too, but after skipping an empty one it also skips the
        // content of the next record, whatever that is: it is not handed on at all.
        begin_ += kHeaderBytes;
        start_part(Handling::drop, content, padding);
        return true;
    }
    // Where libfcgi moves on to the next stage of a request (the record that begins it, the
    // empty ones that end its params and its body) it does not skip the record's padding:
    // it would read the padding as the next record, one this walk never saw.
    if (type == kBeginRequest && request_id_ == 0 && id != 0) {
        if (!approve_without_padding(content, padding, may_block)) return false;
        request_id_ = id;
        params_open_ = true;
        pair_stage_ = kNameFirst;
        pair_data_left_ = 0;
        params_used_ = 0;
        return true;
    }
    if (id == request_id_ && content == 0 && type == (params_open_ ? kParams : kStdin)) {
        if (!approve_without_padding(0, padding, may_block)) return false;
        if (params_open_) {
            params_open_ = false;
        } else {
            request_id_ = 0;
            end_request_ = true;
        }
        return true;
    }
    approved_ = kHeaderBytes;
    const bool params = type == kParams && params_open_;
    start_part(params ? Handling::params : Handling::pass, content, padding);
    return true;
}

void FcgiInput::start_part(Handling handling, std::size_t content, std::size_t padding) {
    handling_ = handling;
    part_ = Part::content;
    left_ = content;
    padding_ = padding;
}

// Approves the whole record at begin_, less its padding; the header then says it has none.
bool FcgiInput::approve_without_padding(std::size_t content, std::size_t padding, bool may_block) {
    const std::size_t record = kHeaderBytes + content;
    if (!have(record + padding, may_block)) return false;
    if (padding > 0) {
        std::memmove(&buffer_[begin_ + padding], &buffer_[begin_], record);
        begin_ += padding;
        buffer_[begin_ + 6] = 0;
    }
    approved_ = record;
    return true;
}

// Scans params content for the pair lengths in it; a pair is refused as soon as its
// lengths are known, before the byte that completes them is handed on.
bool FcgiInput::scan_params(const unsigned char* p, std::size_t n) {
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
        // Both lengths are known: the pair's claim is checked before libfcgi sees its end.
        const std::uint64_t claim = std::uint64_t(pair_prefix_) + name_len_ + value_len_;
        if (params_used_ + claim > max_params_) {
            refuse("FastCGI params over the limit of " + std::to_string(max_params_) +
                   " bytes (a name-value pair claims " + std::to_string(claim) + ")");
            return false;
        }
        params_used_ += claim;
        pair_data_left_ = std::uint64_t(name_len_) + value_len_;
        pair_stage_ = kNameFirst;
    }
    return true;
}

bool FcgiInput::check_get_values(const unsigned char* p, std::size_t n) {
    // One length in its 1- or 4-byte form; false when the record ends inside it.
    auto next_length = [&](std::size_t& i, std::uint64_t& length) {
        if (i < n && (p[i] & 0x80) == 0) {
            length = p[i++];
            return true;
        }
        if (n - i < 4) return false;
        length = std::uint64_t(p[i] & 0x7f) << 24 | std::uint64_t(p[i + 1]) << 16 | p[i + 2] << 8 | p[i + 3];
        i += 4;
        return true;
    };
    for (std::size_t i = 0; i < n;) {
        std::uint64_t name = 0;
        std::uint64_t value = 0;
        if (!next_length(i, name) || !next_length(i, value) || name + value > n - i) {
            refuse("an FCGI_GET_VALUES record whose name-value pairs claim more than it holds");
            return false;
        }
        i += static_cast<std::size_t>(name + value);
    }
    return true;
}

bool FcgiInput::answer_unknown_type(unsigned char type) {
    const unsigned char record[16] = {kVersion1, kUnknownType, 0, 0, 0, 8, 0, 0, type, 0, 0, 0, 0, 0, 0, 0};
    std::size_t sent = 0;
    while (sent < sizeof record) {
        const ssize_t n = ::send(fd_, record + sent, sizeof record - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            refuse(std::string("answering an unknown management record failed: ") + std::strerror(errno));
            return false;
        }
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

void FcgiInput::refuse(std::string why) {
    if (refusal_.empty()) refusal_ = std::move(why);
}

FcgiInput::Scope::Scope(FcgiInput& input) {
    current_input = &input;
    current_fd = input.fd_;
}

FcgiInput::Scope::~Scope() {
    current_input = nullptr;
    current_fd = -1;
}

}  // namespace fcgihost

// libfcgi calls this for every read of a connection (see fcgi_input.hpp).
extern "C" int OS_Read(int fd, char* buf, size_t len) {
    using fcgihost::current_input;
    if (current_input != nullptr && fd == fcgihost::current_fd) {
        return static_cast<int>(current_input->read(buf, len));
    }
    const fcgihost::OsRead next = fcgihost::libfcgi_os_read();
    return next != nullptr ? next(fd, buf, len) : static_cast<int>(::read(fd, buf, len));
}
