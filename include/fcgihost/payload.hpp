// Payload fields: a small key=value encoding for durable job payloads, one field a line.
// Keys and values may hold any bytes: '%', '=', CR, LF and other control bytes are written
// as %XX. Use it, or JSON, or any bytes of your own: the store does not look inside.
//
//     std::string p = encode_fields({{"id", "a=b"}, {"ms", "5"}});  // "id=a%3Db\nms=5\n"
//     decode_fields(p).at("id") == "a=b"
#pragma once

#include <map>
#include <stdexcept>
#include <string>

namespace fcgihost {

struct PayloadError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using PayloadFields = std::map<std::string, std::string>;

std::string encode_fields(const PayloadFields& fields);
// Throws PayloadError for a line without '=', a bad %XX, an empty or repeated key.
PayloadFields decode_fields(const std::string& payload);

}  // namespace fcgihost
