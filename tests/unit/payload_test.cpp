// Payload fields (include/fcgihost/payload.hpp).
#include "fcgihost/payload.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>

using namespace fcgihost;

class PayloadTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PayloadTest);
    CPPUNIT_TEST(round_trip_escapes_separators_and_control_bytes);
    CPPUNIT_TEST(plain_fields_stay_readable);
    CPPUNIT_TEST(bad_input_is_refused);
    CPPUNIT_TEST_SUITE_END();

public:
    void round_trip_escapes_separators_and_control_bytes() {
        PayloadFields in{{"k=1", std::string("a\nb=%c\0\x7f", 8)}, {"id", ""}, {"\xc3\xa9", "\xff"}};
        std::string encoded = encode_fields(in);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), static_cast<std::size_t>(std::count(encoded.begin(), encoded.end(), '\n')));
        CPPUNIT_ASSERT(in == decode_fields(encoded));
    }

    void plain_fields_stay_readable() {
        CPPUNIT_ASSERT_EQUAL(std::string("id=a%3Db\nms=5\n"), encode_fields({{"ms", "5"}, {"id", "a=b"}}));
        CPPUNIT_ASSERT(decode_fields("").empty());
        CPPUNIT_ASSERT_EQUAL(std::string("5"), decode_fields("ms=5").at("ms"));  // no final newline
    }

    void bad_input_is_refused() {
        for (const char* bad : {"novalue\n", "=v\n", "a=1\na=2\n", "a=%4\n", "a=%zz\n", "a=%"}) {
            CPPUNIT_ASSERT_THROW_MESSAGE(bad, decode_fields(bad), PayloadError);
        }
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PayloadTest, "unit");
